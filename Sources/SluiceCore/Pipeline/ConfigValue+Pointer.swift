import Foundation

/// Resolving the JSON Pointers (RFC 6901) plugins use to name a config value back to YAML.
extension ConfigValue {
    /// The location of the node `pointer` names, or of its nearest existing ancestor; the
    /// value's own location for "" and for text that is not a pointer (no leading "/").
    public func location(ofPointer pointer: String) -> SourceLocation {
        guard pointer.hasPrefix("/") else { return location }
        var node = self
        for token in pointer.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            guard let child = node.child(Self.unescape(token)) else { break }
            node = child
        }
        return node.location
    }

    /// Where the first string scalar equal to `text` stands, depth first in the order written:
    /// where an operator's configuration names a column (`name: temperature`, `output: celsius`).
    public func location(ofString text: String) -> SourceLocation? {
        switch self {
        case let .string(value, location): return value == text ? location : nil
        case let .array(items, _): return items.lazy.compactMap { $0.location(ofString: text) }.first
        case let .object(entries, _): return entries.lazy.compactMap { $0.value.location(ofString: text) }.first
        default: return nil
        }
    }

    // MARK: - Walking

    /// The member named `token` of an object, or the element it indexes in an array.
    private func child(_ token: String) -> ConfigValue? {
        switch self {
        case let .object(entries, _):
            // Keys are unique: the loader rejects duplicates and resolves merge keys.
            return entries.first { $0.key == token }?.value
        case let .array(elements, _):
            // RFC 6901 array indices are plain decimal digits without leading zeros.
            guard let index = Int(token), String(index) == token, elements.indices.contains(index) else {
                return nil
            }
            return elements[index]
        default:
            return nil
        }
    }

    /// Decodes a reference token: "~1" is "/", "~0" is "~" (in that order, per RFC 6901).
    private static func unescape(_ token: Substring) -> String {
        token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
    }
}
