/// The protocol logic of one broker connection, with no I/O: it takes events (the channel
/// became active, a command arrived, a timer fired, the caller wants to send a request) and
/// returns the action the channel handler must perform. In the style of postgres-nio's
/// `ConnectionStateMachine`.
///
/// Covers the handshake (CONNECT/CONNECTED, token authentication, AUTH_CHALLENGE), request and
/// response matching by request id with timeouts (ACK_RESPONSE answers an ACK sent with a
/// request id), keep-alive (PING/PONG) and closing. Commands
/// for consumers and producers are routed by their ids.
///
/// Not thread-safe: owned by one channel handler, used on its event loop.
public struct ConnectionStateMachine {
    public enum State: Equatable {
        case initialized
        /// CONNECT sent, waiting for CONNECTED.
        case connecting
        case ready(serverVersion: String, maxMessageSize: Int)
        case closing
        case closed
    }

    public enum Action: Equatable {
        case none
        case sendConnect
        case sendAuthResponse
        case sendPong
        case sendPing
        /// The handshake finished: write the requests queued meanwhile (in order).
        case connected(flush: [UInt64])
        /// Write request `requestID` now.
        case sendRequest(UInt64)
        /// Complete request `requestID` with the response command (SUCCESS, LOOKUP_RESPONSE, ...).
        case succeedRequest(UInt64)
        case failRequest(UInt64, PulsarError)
        /// Fail several requests (timeouts, connection loss).
        case failRequests([UInt64], PulsarError)
        case forwardToConsumer(UInt64)
        case forwardToProducer(UInt64)
        /// Close the channel; every pending request fails with the error.
        case closeConnection(PulsarError, failing: [UInt64])
        /// The channel is gone: fail what was pending and tell consumers and producers.
        case connectionClosed(PulsarError, failing: [UInt64])
    }

    public private(set) var state: State = .initialized
    /// Requests sent or queued, with the time (ns) they were issued.
    private var pending: [UInt64: UInt64] = [:]
    private var queued: [UInt64] = []
    private var pingOutstanding = false

    public init() {}

    public var isReady: Bool { if case .ready = state { return true }; return false }
    public var pendingRequestCount: Int { pending.count }

    // MARK: - Channel events

    public mutating func channelActive() -> Action {
        guard state == .initialized else { return .none }
        state = .connecting
        return .sendConnect
    }

    public mutating func channelInactive() -> Action {
        if state == .closed { return .none }
        let wasClosing = state == .closing
        state = .closed
        let failing = takeAllPending()
        return .connectionClosed(wasClosing ? .closed : .connectionClosed("the broker closed the connection"), failing: failing)
    }

    public mutating func errorCaught(_ description: String) -> Action {
        if state == .closed || state == .closing { return .none }
        state = .closing
        return .closeConnection(.connectionClosed(description), failing: takeAllPending())
    }

    // MARK: - Requests

    /// The caller wants to send request `requestID`.
    public mutating func sendRequest(_ requestID: UInt64, now: UInt64) -> Action {
        switch state {
        case .initialized, .connecting:
            pending[requestID] = now
            queued.append(requestID)
            return .none
        case .ready:
            pending[requestID] = now
            return .sendRequest(requestID)
        case .closing, .closed:
            return .failRequest(requestID, .connectionClosed("the connection is closed"))
        }
    }

    /// Fails requests older than `timeout` ns. Called periodically.
    public mutating func checkTimeouts(now: UInt64, timeout: UInt64) -> Action {
        let expired = pending.filter { now > $0.value && now - $0.value >= timeout }.map(\.key).sorted()
        guard !expired.isEmpty else { return .none }
        for id in expired { pending[id] = nil }
        queued.removeAll { expired.contains($0) }
        return .failRequests(expired, .timeout("no answer from the broker within \(timeout / 1_000_000) ms"))
    }

    // MARK: - Keep-alive

    /// The keep-alive timer fired: ping, or give up when the last ping got no pong.
    public mutating func keepAliveTick() -> Action {
        guard isReady else { return .none }
        if pingOutstanding {
            state = .closing
            return .closeConnection(.connectionClosed("the broker did not answer a ping"), failing: takeAllPending())
        }
        pingOutstanding = true
        return .sendPing
    }

    // MARK: - Commands from the broker

    public mutating func received(_ command: Pulsar_Proto_BaseCommand) -> Action {
        pingOutstanding = false  // any traffic proves the broker alive
        switch command.type {
        case .connected:
            guard state == .connecting else { return protocolViolation("CONNECTED outside the handshake") }
            let max = command.connected.hasMaxMessageSize ? Int(command.connected.maxMessageSize) : 5 * 1024 * 1024
            state = .ready(serverVersion: command.connected.serverVersion, maxMessageSize: max)
            let flush = queued
            queued = []
            return .connected(flush: flush)
        case .authChallenge:
            return .sendAuthResponse
        case .ping:
            return .sendPong
        case .pong:
            return .none
        case .error:
            if state == .connecting && pending[command.error.requestID] == nil {
                // An error during the handshake (authentication): the connection is unusable.
                state = .closing
                return .closeConnection(.server(code: "\(command.error.error)", message: command.error.message), failing: takeAllPending())
            }
            return complete(command.error.requestID, success: false, command)
        case .success: return complete(command.success.requestID, success: true, command)
        case .ackResponse:
            let r = command.ackResponse
            guard pending.removeValue(forKey: r.requestID) != nil else { return .none }
            if r.hasError { return .failRequest(r.requestID, .server(code: "\(r.error)", message: r.message)) }
            return .succeedRequest(r.requestID)
        case .producerSuccess:
            // A producer that is not ready yet gets a second PRODUCER_SUCCESS later.
            if command.producerSuccess.hasProducerReady && !command.producerSuccess.producerReady { return .none }
            return complete(command.producerSuccess.requestID, success: true, command)
        case .lookupResponse: return complete(command.lookupTopicResponse.requestID, success: true, command)
        case .partitionedMetadataResponse: return complete(command.partitionMetadataResponse.requestID, success: true, command)
        case .getLastMessageIDResponse: return complete(command.getLastMessageIDResponse.requestID, success: true, command)
        case .message: return .forwardToConsumer(command.message.consumerID)
        case .closeConsumer: return .forwardToConsumer(command.closeConsumer.consumerID)
        case .activeConsumerChange: return .forwardToConsumer(command.activeConsumerChange.consumerID)
        case .reachedEndOfTopic: return .forwardToConsumer(command.reachedEndOfTopic.consumerID)
        case .sendReceipt: return .forwardToProducer(command.sendReceipt.producerID)
        case .sendError: return .forwardToProducer(command.sendError.producerID)
        case .closeProducer: return .forwardToProducer(command.closeProducer.producerID)
        default:
            return .none
        }
    }

    private mutating func complete(_ requestID: UInt64, success: Bool, _ command: Pulsar_Proto_BaseCommand) -> Action {
        guard pending.removeValue(forKey: requestID) != nil else { return .none }  // late answer after a timeout
        if success { return .succeedRequest(requestID) }
        return .failRequest(requestID, .server(code: "\(command.error.error)", message: command.error.message))
    }

    private mutating func protocolViolation(_ what: String) -> Action {
        state = .closing
        return .closeConnection(.protocolViolation(what), failing: takeAllPending())
    }

    private mutating func takeAllPending() -> [UInt64] {
        let ids = pending.keys.sorted()
        pending = [:]
        queued = []
        return ids
    }

    /// The caller closes the connection.
    public mutating func close() -> Action {
        switch state {
        case .closing, .closed: return .none
        default:
            state = .closing
            return .closeConnection(.closed, failing: takeAllPending())
        }
    }
}
