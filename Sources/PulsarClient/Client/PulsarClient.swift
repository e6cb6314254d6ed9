import Dispatch
import NIOCore
import NIOPosix
import NIOSSL
import TLSSupport

/// Connection settings shared by consumers and producers.
public struct ClientConfiguration: Sendable {
    public var serviceURL: ServiceURL
    /// Credentials sent in CONNECT and on AUTH_CHALLENGE; never logged.
    public var authentication: PulsarAuthentication = .none
    /// How `pulsar+ssl://` connections are verified, and the client certificate for mutual TLS.
    /// Unused for `pulsar://`.
    public var tls = TLSSettings(names: .pulsar)
    public var connectionTimeout: TimeAmount = .seconds(10)
    public var operationTimeout: TimeAmount = .seconds(30)
    public var keepAliveInterval: TimeAmount = .seconds(30)
    public var maxFrameSize: Int = PulsarFrame.defaultMaxFrameSize
    public var backoff = Backoff()
    /// Whether starting a consumer or producer retries an unreachable broker until the
    /// operation timeout (a run), or tries each endpoint once (a connection check).
    public var retryWhileStarting = true
    /// Fork a `SocketGuardian` per connection, so that a connection of a process killed with
    /// SIGKILL still ends with a FIN instead of a reset (pulsar-lite keeps the consumers of a
    /// reset connection forever). For long-running consumers (the source plugin); off by default.
    public var crashSafeClose = false

    public init(serviceURL: ServiceURL, token: String? = nil) {
        self.serviceURL = serviceURL
        if let token { authentication = .token(token) }
    }
}

extension TLSSettings.OptionNames {
    /// The names the Pulsar source and sink (and Pulsar's own clients) give these settings.
    public static let pulsar = TLSSettings.OptionNames(
        trustFile: "tls_trust_certs_file", certificateFile: "tls_cert_file", keyFile: "tls_key_file",
        verifyHostname: "tls_hostname_verification", insecure: "tls_allow_insecure_connection")
}

/// A client: broker connections (one per broker address, reused), topic lookups and
/// partition metadata. Consumers and producers are created from it.
///
/// Thread-safe: every piece of state lives on `eventLoop`; public methods hop there.
// @unchecked Sendable: the mutable state below is only touched on `eventLoop`.
public final class PulsarClient: @unchecked Sendable {
    public let configuration: ClientConfiguration
    public let eventLoop: EventLoop
    private let group: EventLoopGroup
    private let ownsGroup: Bool
    private var connections: [ServiceURL: EventLoopFuture<PulsarChannelHandler>] = [:]
    private var resolved: [ServiceURL: PulsarChannelHandler] = [:]
    private var nextID: UInt64 = 0
    /// The TLS context for `pulsar+ssl` connections, made once (it loads the trust store).
    private var tlsContext: Result<NIOSSLContext, Error>?
    /// Whether the lookup's missing TLS URL was logged.
    private var loggedLookupWithoutTLS = false
    /// Called on the event loop for log-worthy events (reconnects); never with a secret.
    public var log: (@Sendable (String) -> Void)?

    public init(configuration: ClientConfiguration, group: EventLoopGroup? = nil) {
        self.configuration = configuration
        if let group {
            self.group = group
            ownsGroup = false
        } else {
            self.group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            ownsGroup = true
        }
        eventLoop = self.group.next()
    }

    /// Closes every connection and, when the client made its own event loop, stops it.
    public func shutdown() {
        if case .oauth2(let source) = configuration.authentication { source.shutdown() }
        let done = eventLoop.submit { () -> [EventLoopFuture<PulsarChannelHandler>] in
            let all = Array(self.connections.values)
            self.connections = [:]
            for c in all { c.whenSuccess { $0.close() } }
            return all
        }
        _ = try? done.wait()
        if ownsGroup { try? group.syncShutdownGracefully() }
    }

    func makeID() -> UInt64 {
        eventLoop.preconditionInEventLoop()
        nextID += 1
        return nextID
    }

    // MARK: - Connections (event loop)

    /// The connection to `url`, opened when there is none or the last one closed.
    func connection(to url: ServiceURL) -> EventLoopFuture<PulsarChannelHandler> {
        eventLoop.preconditionInEventLoop()
        if let existing = connections[url] {
            if let handler = resolved[url], !handler.isUsable {
                connections[url] = nil
                resolved[url] = nil
            } else {
                return existing
            }
        }
        let future = open(url)
        connections[url] = future
        future.whenComplete { [weak self] result in
            guard let self, self.connections[url] === future else { return }
            switch result {
            case .success(let handler):
                self.resolved[url] = handler
                handler.closeFuture.whenComplete { _ in
                    if self.connections[url] === future {
                        self.connections[url] = nil
                        self.resolved[url] = nil
                    }
                }
            case .failure:
                self.connections[url] = nil
            }
        }
        return future
    }

    /// The TLS context, made on first use; its failure (an unreadable file) is reported by
    /// every TLS connection attempt.
    private func sslContext() throws -> NIOSSLContext {
        if tlsContext == nil {
            tlsContext = Result { try configuration.tls.makeContext() }
        }
        return try tlsContext!.get()
    }

    private func open(_ url: ServiceURL) -> EventLoopFuture<PulsarChannelHandler> {
        let config = configuration
        var settings = PulsarChannelHandler.Settings()
        settings.authentication = config.authentication
        settings.operationTimeout = config.operationTimeout
        settings.keepAliveInterval = config.keepAliveInterval
        settings.endpoint = url.description
        let loop = eventLoop
        var context: NIOSSLContext?
        if url.usesTLS {
            settings.tls = config.tls
            do { context = try sslContext() } catch {
                return loop.makeFailedFuture(PulsarError.notAuthorized("TLS to \(url): \(error)"))
            }
        }
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(config.connectionTimeout)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [context] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let context {
                        let tls = try NIOSSLClientHandler(context: context, serverHostname: TLSSettings.serverName(forHost: url.host))
                        try channel.pipeline.syncOperations.addHandler(tls)
                    }
                    let handler = PulsarChannelHandler(settings: settings, eventLoop: channel.eventLoop, closeFuture: channel.closeFuture)
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(PulsarFrameDecoder(maxFrameSize: config.maxFrameSize)))
                    try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(PulsarFrameEncoder()))
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        let connect: EventLoopFuture<Channel>
        // OAuth2: a valid token before the connection, so CONNECT carries it.
        let prepared = config.authentication.prepare(on: loop)
        if config.crashSafeClose {
            // Connect the socket here (blocking, off the event loop), hand a second descriptor
            // of it to a guardian process, then give it to NIO; only once the credentials are
            // ready, so a failed token request leaves no socket behind.
            let log = self.log
            let connected = prepared.flatMap { () -> EventLoopFuture<(Int32, SocketGuardian?)> in
                let promise = loop.makePromise(of: (Int32, SocketGuardian?).self)
                DispatchQueue.global().async {
                    do {
                        let fd = try connectSocket(host: url.host, port: url.port, timeout: config.connectionTimeout)
                        var guardian: SocketGuardian?
                        do {
                            guardian = try SocketGuardian.start(socket: fd)
                        } catch {
                            log?("cannot start the connection guardian (\(error)); if this process is killed, the broker sees a reset")
                        }
                        promise.succeed((fd, guardian))
                    } catch {
                        promise.fail(error)
                    }
                }
                return promise.futureResult
            }
            connect = connected.flatMap { fd, guardian in
                bootstrap.withConnectedSocket(fd).map { channel in
                    if let guardian { channel.closeFuture.whenComplete { _ in guardian.release() } }
                    return channel
                }.flatMapErrorThrowing { error in
                    guardian?.release()
                    throw error
                }
            }
        } else {
            connect = prepared.flatMap { bootstrap.connect(host: url.host, port: url.port) }
        }
        return connect.flatMap { channel in
            channel.pipeline.handler(type: PulsarChannelHandler.self)
        }.flatMap { handler in
            let timeout = loop.scheduleTask(in: config.connectionTimeout) {
                handler.close()
            }
            return handler.connected.futureResult.map { timeout.cancel(); return handler }
        }.flatMapError { error in
            if let tls = error as? TLSConnectionError {
                guard TLSFailure.isVerificationFailure(tls.underlying) else {
                    return loop.makeFailedFuture(PulsarError.notAuthorized(tls.explanation))
                }
                // BoringSSL says only that verification failed: look at the chain for why.
                return TLSFailure.diagnoseVerification(host: url.host, port: url.port, endpoint: url.description,
                                                       settings: config.tls, on: loop).flatMapThrowing { diagnosis in
                    throw PulsarError.notAuthorized(diagnosis ?? tls.explanation)
                }
            }
            if let error = error as? PulsarError { return loop.makeFailedFuture(error) }
            return loop.makeFailedFuture(PulsarError.connectionClosed("cannot connect to \(url): \(error)"))
        }
    }

    // MARK: - Lookups (event loop)

    /// The connection to the broker that serves `topic` (a concrete topic or partition).
    func lookup(_ topic: String) -> EventLoopFuture<PulsarChannelHandler> {
        lookup(topic, at: configuration.serviceURL, authoritative: false, hops: 0)
    }

    private func lookup(_ topic: String, at url: ServiceURL, authoritative: Bool, hops: Int) -> EventLoopFuture<PulsarChannelHandler> {
        guard hops < 8 else { return eventLoop.makeFailedFuture(PulsarError.protocolViolation("more than 8 lookup redirects for \(topic)")) }
        return connection(to: url).flatMap { handler in
            handler.request { id in
                PulsarCommands.lookup(topic: topic, requestID: id, authoritative: authoritative)
            }.flatMap { response in
                switch LookupAnswer(response.lookupTopicResponse, serviceURL: self.configuration.serviceURL) {
                case .failed(let error):
                    return self.eventLoop.makeFailedFuture(error)
                case .serviceURL(let plaintextOnly):
                    if let plaintextOnly, !self.loggedLookupWithoutTLS {
                        self.loggedLookupWithoutTLS = true
                        self.log?("the lookup of \(topic) answered only the plaintext broker URL \(plaintextOnly); staying on \(self.configuration.serviceURL) (TLS)")
                    }
                    return self.connection(to: self.configuration.serviceURL)
                case .redirect(let target, let authoritative):
                    return self.lookup(topic, at: target, authoritative: authoritative, hops: hops + 1)
                case .connect(let target):
                    return self.connection(to: target)
                }
            }
        }
    }

    /// Number of partitions of `topic`; 0 for a non-partitioned topic.
    func partitionCount(_ topic: TopicName) -> EventLoopFuture<Int> {
        connection(to: configuration.serviceURL).flatMap { handler in
            handler.request { id in
                PulsarCommands.partitionedMetadata(topic: topic.description, requestID: id)
            }.flatMapThrowing { response in
                let r = response.partitionMetadataResponse
                if r.response == .failed || r.hasError {
                    throw PulsarError.server(code: "\(r.error)", message: r.message)
                }
                return Int(r.partitions)
            }
        }
    }

    /// Public form of `partitionCount`, from any thread.
    public func partitions(of topic: TopicName) -> EventLoopFuture<Int> {
        eventLoop.flatSubmit { self.partitionCount(topic) }
    }

    /// Retries `operation` with the configured backoff until it succeeds, fails for good, or
    /// `deadline` passes.
    /// `explain` may say what a failure means and what the retry waits for (logged with it).
    /// When starting gives up: after the operation timeout, or at once for a connection check.
    func startDeadline() -> NIODeadline {
        NIODeadline.now() + (configuration.retryWhileStarting ? configuration.operationTimeout : .zero)
    }

    func retrying<T>(_ what: String, deadline: NIODeadline, attempt: Int = 1, explain: ((PulsarError) -> String?)? = nil,
                     _ operation: @escaping () -> EventLoopFuture<T>) -> EventLoopFuture<T> {
        operation().flatMapError { error in
            let pulsarError = error as? PulsarError ?? .connectionClosed("\(error)")
            let delay = TimeAmount.nanoseconds(Int64(self.configuration.backoff.delay(attempt: attempt)))
            guard pulsarError.isRetryable, NIODeadline.now() + delay < deadline else {
                return self.eventLoop.makeFailedFuture(pulsarError)
            }
            let why = explain?(pulsarError).map { ": \($0)" } ?? ""
            self.log?("\(what) failed (\(pulsarError))\(why); retrying in \(delay.nanoseconds / 1_000_000) ms")
            return self.eventLoop.scheduleTask(in: delay) {}.futureResult.flatMap {
                self.retrying(what, deadline: deadline, attempt: attempt + 1, explain: explain, operation)
            }
        }
    }
}
