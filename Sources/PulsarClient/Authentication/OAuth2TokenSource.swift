import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOSSL

/// OAuth2 client credentials, the flow managed Pulsar services use: the issuer's token endpoint
/// (found through its `/.well-known/openid-configuration`) exchanges a client id and secret for
/// an access token, which goes to the broker as a `token`. The token is renewed when three
/// quarters of its lifetime have passed, so a connection that opens or a broker that sends
/// AUTH_CHALLENGE always finds a valid one; a failed renewal is retried with backoff while the
/// old token lasts.
///
/// Never logs or reports the client secret or a token.
///
/// Thread-safe: state under `lock`; HTTP on NIO's shared event loop group.
// @unchecked Sendable: mutable state is guarded by `lock`.
public final class OAuth2TokenSource: @unchecked Sendable {
    public struct Configuration: Sendable {
        /// The issuer, e.g. https://auth.example.com/ (nil: the credentials file's `issuer_url`).
        public var issuerURL: String?
        /// JSON file with `client_id` and `client_secret` (and optionally `issuer_url`): what
        /// Pulsar's clients call the OAuth2 `private_key`.
        public var credentialsFile: String
        public var audience: String?
        public var scope: String?
        /// Extra CA certificates to trust for an HTTPS issuer (PEM), beside the system's.
        public var trustFile: String?
        public var requestTimeout: TimeAmount = .seconds(10)

        public init(issuerURL: String?, credentialsFile: String, audience: String? = nil, scope: String? = nil) {
            self.issuerURL = issuerURL
            self.credentialsFile = credentialsFile
            self.audience = audience
            self.scope = scope
        }
    }

    /// The credentials file, read once.
    struct Credentials: Decodable {
        let clientID: String
        let clientSecret: String
        let issuerURL: String?
        enum CodingKeys: String, CodingKey { case clientID = "client_id", clientSecret = "client_secret", issuerURL = "issuer_url" }
    }

    private struct Token {
        let value: String
        let expires: NIODeadline
        let renewAt: NIODeadline
    }

    public let configuration: Configuration
    let issuer: String
    private let credentials: Credentials
    private let http: HTTPClient
    private let lock = NIOLock()
    private var token: Token?
    private var inFlight: EventLoopFuture<String>?
    private var tokenEndpoint: String?
    private var renewal: Scheduled<Void>?
    private var failedRenewals = 0
    private var stopped = false
    /// Called for log-worthy events (a failed renewal); never with a secret.
    public var log: (@Sendable (String) -> Void)?

    /// Reads the credentials file; throws a one-line error naming it when it is unusable.
    public init(configuration: Configuration) throws {
        self.configuration = configuration
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: configuration.credentialsFile)) } catch {
            throw PulsarError.notAuthorized("oauth2: cannot read the credentials file \(configuration.credentialsFile): \((error as NSError).localizedDescription)")
        }
        do { credentials = try JSONDecoder().decode(Credentials.self, from: data) } catch {
            throw PulsarError.notAuthorized("oauth2: the credentials file \(configuration.credentialsFile) is not JSON with client_id and client_secret")
        }
        guard let issuer = configuration.issuerURL ?? credentials.issuerURL, !issuer.isEmpty else {
            throw PulsarError.notAuthorized("oauth2: no issuer_url, neither in the configuration nor in \(configuration.credentialsFile)")
        }
        self.issuer = issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer
        var tls = TLSConfiguration.makeClientConfiguration()
        if let trustFile = configuration.trustFile {
            tls.additionalTrustRoots = [.file(trustFile)]
        }
        var httpConfiguration = HTTPClient.Configuration(tlsConfiguration: tls)
        httpConfiguration.timeout = .init(connect: configuration.requestTimeout, read: configuration.requestTimeout)
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
    }

    /// The token to send now, or nil when there is none or it expired.
    public func currentToken() -> String? {
        lock.withLock {
            guard let token, NIODeadline.now() < token.expires else { return nil }
            return token.value
        }
    }

    /// A token valid now: the current one, or a new one from the issuer.
    public func validToken(on loop: EventLoop) -> EventLoopFuture<String> {
        if let current = currentToken() { return loop.makeSucceededFuture(current) }
        return fetch().hop(to: loop)
    }

    /// Stops renewing and closes the HTTP client, when the Pulsar client shuts down.
    public func shutdown() {
        let first = lock.withLock { () -> Bool in
            defer { stopped = true }
            renewal?.cancel()
            renewal = nil
            return !stopped
        }
        if first { try? http.syncShutdown() }
    }

    /// A source dropped without `shutdown` (its plugin failed to open): close the HTTP client
    /// without waiting, since this may run on any thread.
    deinit {
        if !stopped { http.shutdown { _ in } }
    }

    // MARK: - Fetching

    /// One token request at a time; callers that arrive during it share its answer. Nothing
    /// runs under the lock but the bookkeeping (a future may complete at once).
    private func fetch() -> EventLoopFuture<String> {
        let (existing, created) = lock.withLock { () -> (EventLoopFuture<String>?, EventLoopPromise<String>?) in
            if let inFlight { return (inFlight, nil) }
            let promise = http.eventLoopGroup.next().makePromise(of: String.self)
            inFlight = promise.futureResult
            return (nil, promise)
        }
        if let existing { return existing }
        let promise = created!
        promise.futureResult.whenComplete { _ in self.lock.withLock { self.inFlight = nil } }
        endpoint().flatMap { self.requestToken(at: $0) }.cascade(to: promise)
        return promise.futureResult
    }

    /// The token endpoint, from the issuer's OpenID metadata (looked up once).
    private func endpoint() -> EventLoopFuture<String> {
        let loop = http.eventLoopGroup.next()
        if let known = lock.withLock({ tokenEndpoint }) { return loop.makeSucceededFuture(known) }
        let metadataURL = issuer + "/.well-known/openid-configuration"
        return http.get(url: metadataURL, deadline: .now() + configuration.requestTimeout).flatMapError { error in
            loop.makeFailedFuture(PulsarError.connectionClosed("oauth2: cannot reach the issuer's metadata at \(metadataURL): \(error)"))
        }.flatMapThrowing { response in
            guard response.status == .ok, let body = response.body,
                  let json = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any],
                  let endpoint = json["token_endpoint"] as? String else {
                throw PulsarError.notAuthorized("oauth2: \(metadataURL) answered HTTP \(response.status.code) without a token_endpoint (is issuer_url right?)")
            }
            self.lock.withLock { self.tokenEndpoint = endpoint }
            return endpoint
        }
    }

    private func requestToken(at endpoint: String) -> EventLoopFuture<String> {
        var form = [("grant_type", "client_credentials"), ("client_id", credentials.clientID), ("client_secret", credentials.clientSecret)]
        if let audience = configuration.audience { form.append(("audience", audience)) }
        if let scope = configuration.scope { form.append(("scope", scope)) }
        let body = form.map { "\($0.0)=\(Self.formEncode($0.1))" }.joined(separator: "&")
        let loop = http.eventLoopGroup.next()
        let request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(url: endpoint, method: .POST,
                                             headers: ["Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"],
                                             body: .string(body))
        } catch {
            return loop.makeFailedFuture(PulsarError.notAuthorized("oauth2: the issuer's token_endpoint '\(endpoint)' is not a URL"))
        }
        let clientID = credentials.clientID
        let started = NIODeadline.now()
        return http.execute(request: request, deadline: .now() + configuration.requestTimeout).flatMapError { error in
            loop.makeFailedFuture(PulsarError.connectionClosed("oauth2: token request to \(endpoint) failed: \(error)"))
        }.flatMapThrowing { response -> String in
            let json = response.body.flatMap { try? JSONSerialization.jsonObject(with: Data($0.readableBytesView)) as? [String: Any] } ?? [:]
            guard response.status == .ok else {
                let reason = [json["error"] as? String, json["error_description"] as? String].compactMap { $0 }.joined(separator: ": ")
                let message = "oauth2: the issuer refused the token request for client_id \(clientID) at \(endpoint) (HTTP \(response.status.code)\(reason.isEmpty ? "" : ", " + reason))"
                // 5xx and 429 may heal; a refusal of the credentials will not.
                if response.status.code >= 500 || response.status.code == 429 { throw PulsarError.connectionClosed(message) }
                throw PulsarError.notAuthorized(message)
            }
            guard let value = json["access_token"] as? String, !value.isEmpty else {
                throw PulsarError.notAuthorized("oauth2: the answer of \(endpoint) has no access_token")
            }
            let lifetime = (json["expires_in"] as? NSNumber)?.doubleValue ?? 3600
            let nanos = Int64(max(lifetime, 1) * 1e9)
            let token = Token(value: value, expires: started + .nanoseconds(nanos), renewAt: started + .nanoseconds(nanos * 3 / 4))
            self.store(token)
            return value
        }
    }

    private func store(_ token: Token) {
        lock.withLock {
            self.token = token
            failedRenewals = 0
            guard !stopped else { return }
            renewal?.cancel()
            renewal = http.eventLoopGroup.next().scheduleTask(deadline: token.renewAt) { self.renew() }
        }
    }

    /// Renews ahead of expiry; on failure retries (1 s, 2 s, ... 30 s) while the old token lasts.
    private func renew() {
        fetch().whenFailure { error in
            let delay: TimeAmount = self.lock.withLock {
                self.failedRenewals += 1
                return .seconds(Int64(min(30, 1 << min(self.failedRenewals - 1, 5))))
            }
            self.log?("\(error); retrying in \(delay.nanoseconds / 1_000_000_000) s")
            self.lock.withLock {
                guard !self.stopped else { return }
                self.renewal = self.http.eventLoopGroup.next().scheduleTask(in: delay) { self.renew() }
            }
        }
    }

    static func formEncode(_ text: String) -> String {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
