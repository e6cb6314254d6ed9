/// The protocol logic of one producer, with no I/O: creation (PRODUCER / PRODUCER_SUCCESS),
/// the sends in flight and their receipts (SEND / SEND_RECEIPT, in sequence order), resending
/// what was in flight after a reconnect, and closing. Events in, actions out.
///
/// Not thread-safe: used on the client's event loop.
public struct ProducerStateMachine {
    public enum State: Equatable {
        case idle
        case creating(requestID: UInt64)
        case ready(name: String)
        case waitingToReconnect(attempt: Int)
        case closing(requestID: UInt64)
        case closed
        case failed(PulsarError)
    }

    public enum Action: Equatable {
        case none
        case sendProducer(requestID: UInt64)
        /// Write the SEND frames with these sequence ids, in order.
        case send([UInt64])
        /// These sends are durable; complete them.
        case complete([UInt64], MessageID?)
        case fail([UInt64], PulsarError)
        case scheduleReconnect(delayNanoseconds: UInt64, attempt: Int)
        case sendCloseProducer(requestID: UInt64)
        case closed
    }

    public private(set) var state: State = .idle
    /// Sends written or waiting to be, by sequence id, in order.
    public private(set) var inFlight: [UInt64] = []
    private var attempt = 0
    public let backoff: Backoff

    public init(backoff: Backoff = Backoff()) { self.backoff = backoff }

    public var isReady: Bool { if case .ready = state { return true }; return false }

    public mutating func create(requestID: UInt64) -> Action {
        switch state {
        case .idle, .waitingToReconnect:
            state = .creating(requestID: requestID)
            return .sendProducer(requestID: requestID)
        default:
            return .none
        }
    }

    /// PRODUCER_SUCCESS: ready; resend what was in flight (the broker dedups nothing here, but
    /// those sends never got a receipt, so they were not stored... or were, and the receipt was
    /// lost: at-least-once for the producer).
    public mutating func created(name: String) -> Action {
        guard case .creating = state else { return .none }
        state = .ready(name: name)
        attempt = 0
        return inFlight.isEmpty ? .none : .send(inFlight)
    }

    public mutating func createFailed(_ error: PulsarError) -> Action {
        guard case .creating = state else { return .none }
        guard error.isRetryable else {
            state = .failed(error)
            let failed = inFlight
            inFlight = []
            return .fail(failed, error)
        }
        return reconnect()
    }

    private mutating func reconnect() -> Action {
        attempt += 1
        state = .waitingToReconnect(attempt: attempt)
        return .scheduleReconnect(delayNanoseconds: backoff.delay(attempt: attempt), attempt: attempt)
    }

    /// The application sends a batch with sequence id `sequenceID` (ids ascend).
    public mutating func send(sequenceID: UInt64) -> Action {
        switch state {
        case .ready:
            inFlight.append(sequenceID)
            return .send([sequenceID])
        case .idle, .creating, .waitingToReconnect:
            inFlight.append(sequenceID)
            return .none
        case .closing, .closed:
            return .fail([sequenceID], .closed)
        case .failed(let error):
            return .fail([sequenceID], error)
        }
    }

    /// SEND_RECEIPT for `sequenceID`: it and every earlier send are done.
    public mutating func receipt(sequenceID: UInt64, messageID: MessageID?) -> Action {
        let done = inFlight.prefix { $0 <= sequenceID }
        guard !done.isEmpty else { return .none }  // a duplicate receipt after a resend
        inFlight.removeFirst(done.count)
        return .complete(Array(done), messageID)
    }

    /// SEND_ERROR: the broker rejected the send; the producer is unusable until recreated.
    public mutating func sendError(sequenceID: UInt64, _ error: PulsarError) -> Action {
        guard inFlight.contains(sequenceID) else { return .none }
        return connectionLost()
    }

    public mutating func connectionLost() -> Action {
        switch state {
        case .ready, .creating:
            return reconnect()
        case .closing:
            state = .closed
            let failed = inFlight
            inFlight = []
            return failed.isEmpty ? .closed : .fail(failed, .closed)
        default:
            return .none
        }
    }

    public mutating func reconnectFailed() -> Action {
        guard case .waitingToReconnect = state else { return .none }
        return reconnect()
    }

    public mutating func close(requestID: UInt64) -> Action {
        switch state {
        case .ready, .creating:
            state = .closing(requestID: requestID)
            return .sendCloseProducer(requestID: requestID)
        case .closing, .closed: return .none
        default:
            state = .closed
            return .closed
        }
    }

    public mutating func closeAnswered() -> Action {
        state = .closed
        let failed = inFlight
        inFlight = []
        return failed.isEmpty ? .closed : .fail(failed, .closed)
    }
}
