/// Errors of the Pulsar client. Messages say what went wrong and never contain a token.
public enum PulsarError: Error, CustomStringConvertible, Equatable {
    /// The broker answered a request with an error.
    case server(code: String, message: String)
    /// The connection closed or failed; the operation may be retried on a new connection.
    case connectionClosed(String)
    /// A request got no answer in time.
    case timeout(String)
    /// The service URL is not `pulsar://host:port`.
    case invalidURL(String)
    /// A protocol violation by the peer.
    case protocolViolation(String)
    case compression(String)
    /// The consumer or producer was closed.
    case closed

    public var description: String {
        switch self {
        case .server(let code, let message): return "broker error \(code): \(message)"
        case .connectionClosed(let why): return "connection closed: \(why)"
        case .timeout(let what): return "timed out: \(what)"
        case .invalidURL(let url): return "invalid service URL '\(url)': expected pulsar://host:port"
        case .protocolViolation(let why): return "protocol violation: \(why)"
        case .compression(let why): return "compression: \(why)"
        case .closed: return "closed"
        }
    }

    /// True for errors after which reconnecting may help.
    public var isRetryable: Bool {
        switch self {
        case .connectionClosed, .timeout: return true
        case .server(let code, _): return ["ServiceNotReady", "TooManyRequests", "PersistenceError", "MetadataError", "ConsumerBusy", "ProducerBusy", "UnknownError"].contains(code)
        default: return false
        }
    }
}

/// `pulsar://host:port`, parsed.
public struct ServiceURL: Hashable, Sendable, CustomStringConvertible {
    public let host: String
    public let port: Int

    public init(_ text: String) throws {
        guard text.hasPrefix("pulsar://") else { throw PulsarError.invalidURL(text) }
        var rest = text.dropFirst("pulsar://".count)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        // A list of hosts (pulsar://a:6650,b:6650): the first is used.
        if let comma = rest.firstIndex(of: ",") { rest = rest[..<comma] }
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]),
              (1...65535).contains(port), colon > rest.startIndex, !rest[..<colon].contains("/") else {
            throw PulsarError.invalidURL(text)
        }
        host = String(rest[..<colon])
        self.port = port
    }

    public var description: String { "pulsar://\(host):\(port)" }
}
