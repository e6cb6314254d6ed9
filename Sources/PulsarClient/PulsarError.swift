/// Errors of the Pulsar client. Messages say what went wrong and never contain a token.
public enum PulsarError: Error, CustomStringConvertible, Equatable {
    /// The broker answered a request with an error.
    case server(code: String, message: String)
    /// The connection closed or failed; the operation may be retried on a new connection.
    case connectionClosed(String)
    /// A request got no answer in time.
    case timeout(String)
    /// The service URL is not `pulsar://host:port` or `pulsar+ssl://host:port`.
    case invalidURL(String)
    /// TLS or authentication failed: retrying with the same settings cannot help (a wrong CA,
    /// a refused certificate, a token the issuer refused). The message says what to change.
    case notAuthorized(String)
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
        case .invalidURL(let url): return "invalid service URL '\(url)': expected pulsar://host:port or pulsar+ssl://host:port"
        case .notAuthorized(let why): return why
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

/// `pulsar://host:port` or `pulsar+ssl://host:port` (TLS), parsed. The scheme is kept: a TLS
/// URL is never reached in plaintext, nor the other way round.
public struct ServiceURL: Hashable, Sendable, CustomStringConvertible {
    public let host: String
    public let port: Int
    public let usesTLS: Bool

    public init(_ text: String) throws {
        var rest: Substring
        if text.hasPrefix("pulsar://") {
            rest = text.dropFirst("pulsar://".count)
            usesTLS = false
        } else if text.hasPrefix("pulsar+ssl://") {
            rest = text.dropFirst("pulsar+ssl://".count)
            usesTLS = true
        } else {
            throw PulsarError.invalidURL(text)
        }
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

    public var description: String { "\(usesTLS ? "pulsar+ssl" : "pulsar")://\(host):\(port)" }
}
