/// A Pulsar topic name, `persistent://tenant/namespace/topic` (or `non-persistent://`), parsed
/// and checked without contacting a broker. A short name `topic` means
/// `persistent://public/default/topic`; `tenant/namespace/topic` means the persistent topic.
///
/// Pure value; any thread.
public struct TopicName: Hashable, Sendable, CustomStringConvertible {
    public let domain: String
    public let tenant: String
    public let namespace: String
    public let localName: String

    public struct InvalidTopicName: Error, CustomStringConvertible {
        public let description: String
    }

    public init(_ text: String) throws {
        func fail(_ why: String) -> InvalidTopicName { InvalidTopicName(description: "invalid topic name '\(text)': \(why)") }
        var rest = Substring(text)
        var domain = "persistent"
        if let range = text.range(of: "://") {
            domain = String(text[..<range.lowerBound])
            guard domain == "persistent" || domain == "non-persistent" else {
                throw fail("the domain must be persistent:// or non-persistent://")
            }
            rest = text[range.upperBound...]
        }
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let tenant: String, namespace: String, local: String
        switch parts.count {
        case 1 where !text.contains("://"):
            (tenant, namespace, local) = ("public", "default", parts[0])
        case 3:
            (tenant, namespace, local) = (parts[0], parts[1], parts[2])
        default:
            throw fail("expected persistent://tenant/namespace/topic or a short name without '/'")
        }
        for (what, value) in [("tenant", tenant), ("namespace", namespace), ("topic", local)] {
            guard !value.isEmpty else { throw fail("the \(what) is empty") }
            guard value.unicodeScalars.allSatisfy(TopicName.allowed) else {
                throw fail("the \(what) '\(value)' may only hold letters, digits and - _ . = : %")
            }
        }
        self.domain = domain
        self.tenant = tenant
        self.namespace = namespace
        self.localName = local
    }

    private static func allowed(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".", "=", ":", "%": return true
        default: return false
        }
    }

    public var description: String { "\(domain)://\(tenant)/\(namespace)/\(localName)" }

    /// The name of partition `index` of this (partitioned) topic.
    public func partition(_ index: Int) -> String { description + "-partition-\(index)" }
}
