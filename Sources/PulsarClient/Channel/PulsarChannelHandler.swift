import NIOCore
import TLSSupport

/// Receives the commands a connection routes to one consumer or producer, and its loss.
/// Called on the connection's event loop.
protocol PulsarConnectionListener: AnyObject {
    func connection(_ connection: PulsarChannelHandler, received frame: PulsarFrame)
    func connectionClosed(_ connection: PulsarChannelHandler, error: PulsarError)
}

/// The one place that performs I/O for a broker connection: it feeds channel events and
/// commands into the `ConnectionStateMachine` and carries out the actions it returns (writes,
/// completing promises, routing frames to consumers and producers, closing).
///
/// Every method runs on the channel's event loop.
final class PulsarChannelHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = PulsarFrame
    typealias OutboundOut = PulsarFrame

    struct Settings {
        var clientVersion = "sluice-pulsar 1.0"
        var authentication: PulsarAuthentication = .none
        var operationTimeout: TimeAmount = .seconds(30)
        var keepAliveInterval: TimeAmount = .seconds(30)
        /// The broker's URL, for messages.
        var endpoint = ""
        /// The TLS settings of a `pulsar+ssl` connection, for explaining its failures.
        var tls: TLSSettings?
    }

    private var stateMachine = ConnectionStateMachine()
    private let settings: Settings
    private var context: ChannelHandlerContext?
    private var requests: [UInt64: (command: Pulsar_Proto_BaseCommand, promise: EventLoopPromise<Pulsar_Proto_BaseCommand>)] = [:]
    private var listeners: [ListenerKey: PulsarConnectionListener] = [:]
    private var nextRequestID: UInt64 = 1
    private var timers: [RepeatedTask] = []
    let connected: EventLoopPromise<Void>
    let closeFuture: EventLoopFuture<Void>
    private var closeError: PulsarError?
    /// The TLS failure that closed this connection, explained.
    private(set) var tlsError: TLSConnectionError?
    /// `tlsError` as the error requests and listeners see.
    private var tlsFailure: PulsarError? { tlsError.map { .notAuthorized($0.explanation) } }
    private var pendingWrites = false

    enum ListenerKey: Hashable { case consumer(UInt64), producer(UInt64) }

    init(settings: Settings, eventLoop: EventLoop, closeFuture: EventLoopFuture<Void>) {
        self.settings = settings
        self.connected = eventLoop.makePromise()
        self.closeFuture = closeFuture
    }

    var isUsable: Bool { stateMachine.isReady }

    /// The broker's `server_version` from CONNECTED (nil before the handshake).
    var serverVersion: String? {
        if case .ready(let version, _) = stateMachine.state { return version }
        return nil
    }
    var eventLoop: EventLoop { connected.futureResult.eventLoop }

    // MARK: - API for consumers, producers and the client (event loop)

    func register(_ key: ListenerKey, _ listener: PulsarConnectionListener) { listeners[key] = listener }
    func unregister(_ key: ListenerKey) { listeners[key] = nil }

    /// Sends a request built for a fresh request id; the future completes with the response.
    func request(_ build: (UInt64) -> Pulsar_Proto_BaseCommand) -> EventLoopFuture<Pulsar_Proto_BaseCommand> {
        let id = nextRequestID
        nextRequestID += 1
        let promise = eventLoop.makePromise(of: Pulsar_Proto_BaseCommand.self)
        requests[id] = (build(id), promise)
        run(stateMachine.sendRequest(id, now: NIODeadline.now().uptimeNanoseconds))
        return promise.futureResult
    }

    /// Writes a command that has no response (FLOW, ACK, SEND, ...). Dropped when the
    /// connection is not ready: the caller's state machine recovers after the reconnect.
    func send(_ frame: PulsarFrame, flush: Bool = true) {
        guard stateMachine.isReady, let context else { return }
        context.write(wrapOutboundOut(frame), promise: nil)
        if flush { context.flush() } else { pendingWrites = true }
    }

    func flush() {
        if pendingWrites, let context { pendingWrites = false; context.flush() }
    }

    func close() { run(stateMachine.close()) }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { channelActive(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        run(stateMachine.channelActive())
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        run(stateMachine.channelInactive())
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A TLS failure (a refused client certificate arrives after the handshake in TLS 1.3)
        // is explained once, and retrying with the same settings cannot help.
        if let tls = settings.tls, let explained = TLSFailure.explain(error, endpoint: settings.endpoint, settings: tls) {
            if tlsError == nil && explained.isPermanent { tlsError = TLSConnectionError(underlying: error, explanation: explained.message) }
            if !explained.isPermanent {
                run(stateMachine.errorCaught(explained.message))
                return
            }
        }
        run(stateMachine.errorCaught("\(error)"))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch stateMachine.received(frame.command) {
        case .forwardToConsumer(let id): listeners[.consumer(id)]?.connection(self, received: frame)
        case .forwardToProducer(let id): listeners[.producer(id)]?.connection(self, received: frame)
        case .succeedRequest(let id): requests.removeValue(forKey: id)?.promise.succeed(frame.command)
        case let action: run(action)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush()
        context.fireChannelReadComplete()
    }

    // MARK: - Actions

    private func run(_ action: ConnectionStateMachine.Action) {
        switch action {
        case .none:
            break
        case .sendConnect:
            let auth = settings.authentication
            write(PulsarCommands.connect(clientVersion: settings.clientVersion, authMethod: auth.methodName, authData: auth.currentData()))
        case .sendAuthResponse:
            // The broker re-checks the credentials (an OAuth2 token it holds expired): the
            // current one, renewed ahead of expiry by its source.
            let auth = settings.authentication
            write(PulsarCommands.authResponse(clientVersion: settings.clientVersion, authMethod: auth.methodName ?? "none", authData: auth.currentData()))
        case .sendPong:
            write(PulsarCommands.pong())
        case .sendPing:
            write(PulsarCommands.ping())
        case .connected(let flush):
            startTimers()
            for id in flush { if let r = requests[id] { write(r.command) } }
            connected.succeed(())
        case .sendRequest(let id):
            if let r = requests[id] { write(r.command) }
        case .succeedRequest(let id):
            requests.removeValue(forKey: id)?.promise.fail(PulsarError.protocolViolation("response without a frame"))
        case .failRequest(let id, let error):
            requests.removeValue(forKey: id)?.promise.fail(error)
        case .failRequests(let ids, let error):
            for id in ids { requests.removeValue(forKey: id)?.promise.fail(error) }
        case .forwardToConsumer, .forwardToProducer:
            break
        case .closeConnection(let error, let failing):
            let error = tlsFailure ?? error
            closeError = error
            for id in failing { requests.removeValue(forKey: id)?.promise.fail(error) }
            context?.close(promise: nil)
        case .connectionClosed(let error, let failing):
            let error = closeError ?? tlsFailure ?? error
            for id in failing { requests.removeValue(forKey: id)?.promise.fail(error) }
            for (_, r) in requests { r.promise.fail(error) }
            requests = [:]
            for timer in timers { timer.cancel() }
            timers = []
            // A TLS failure before CONNECTED keeps its cause, for the client's diagnosis.
            connected.fail(tlsError ?? error)
            let all = listeners.values
            listeners = [:]
            for listener in all { listener.connectionClosed(self, error: error) }
        }
    }

    private func write(_ command: Pulsar_Proto_BaseCommand) {
        guard let context else { return }
        context.writeAndFlush(wrapOutboundOut(PulsarFrame(command: command)), promise: nil)
    }

    private func startTimers() {
        guard let context else { return }
        let loop = context.eventLoop
        let timeout = UInt64(settings.operationTimeout.nanoseconds)
        timers.append(loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [weak self] _ in
            guard let self else { return }
            self.run(self.stateMachine.checkTimeouts(now: NIODeadline.now().uptimeNanoseconds, timeout: timeout))
        })
        timers.append(loop.scheduleRepeatedTask(initialDelay: settings.keepAliveInterval, delay: settings.keepAliveInterval) { [weak self] _ in
            guard let self else { return }
            self.run(self.stateMachine.keepAliveTick())
        })
    }
}

/// A TLS failure of a broker connection: the error NIOSSL reported and its explanation.
struct TLSConnectionError: Error {
    let underlying: Error
    let explanation: String
}
