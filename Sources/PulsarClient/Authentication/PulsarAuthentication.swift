import NIOCore
import TLSSupport

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

    /// The one rule for which method a client uses: OAuth2 when configured (its issuer also
    /// trusted through the TLS trust file), else a token, else the TLS client certificate as the
    /// identity, else none. Makes the OAuth2 source (reading its credentials file).
    public static func choose(token: String?, oauth2: OAuth2TokenSource.Configuration?, tls: TLSSettings,
                              log: (@Sendable (String) -> Void)? = nil) throws -> PulsarAuthentication {
        if var oauth2 {
            oauth2.trustFile = tls.trustFile
            let source = try OAuth2TokenSource(configuration: oauth2)
            source.log = log
            return .oauth2(source)
        }
        if let token { return .token(token) }
        return tls.certificateFile != nil ? .tlsCertificate : .none
    }

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
