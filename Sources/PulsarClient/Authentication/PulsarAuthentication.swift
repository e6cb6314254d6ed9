import NIOCore

/// How a client proves who it is to the broker, in CONNECT and when the broker sends
/// AUTH_CHALLENGE.
public enum PulsarAuthentication: Sendable {
    case none
    /// A static token (`token` authentication).
    case token(String)
    /// Tokens from an OAuth2 issuer, renewed before they expire (`token` authentication too:
    /// the broker checks the access token as any other).
    case oauth2(OAuth2TokenSource)
    /// Pulsar's TLS authentication provider: the client certificate of the TLS connection is
    /// the identity; CONNECT only names the method.
    case tlsCertificate

    /// The method name sent in CONNECT and AUTH_RESPONSE; nil: none.
    var methodName: String? {
        switch self {
        case .none: return nil
        case .token, .oauth2: return "token"
        case .tlsCertificate: return "tls"
        }
    }

    /// The credentials to send now (never logged).
    func currentData() -> String {
        switch self {
        case .none, .tlsCertificate: return ""
        case .token(let token): return token
        case .oauth2(let source): return source.currentToken() ?? ""
        }
    }

    /// Completes once credentials are ready to send (at once, but for an OAuth2 source that
    /// has no valid token yet, which fetches one).
    func prepare(on loop: EventLoop) -> EventLoopFuture<Void> {
        guard case .oauth2(let source) = self else { return loop.makeSucceededVoidFuture() }
        return source.validToken(on: loop).map { _ in }
    }
}
