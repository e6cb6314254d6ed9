/// The protocol logic of one consumer on one topic partition, with no I/O: subscribing,
/// flow permits, filtering of redelivered messages, acknowledgements of skipped entries,
/// reconnecting with exponential backoff and closing. Events in, actions out.
///
/// Flow control: after SUBSCRIBE succeeds the broker gets `receiverQueueSize` permits; each
/// message the application takes returns one, and permits go back to the broker in one FLOW
/// once half the queue has been consumed. So at most about `receiverQueueSize` messages of this
/// partition are ever buffered.
///
/// Duplicates: the broker redelivers everything not yet acknowledged after a reconnect. Every
/// message at or before the last one queued (or before `startAfter`, the position restored from
/// a checkpoint) is dropped, so the application sees each message once, in order.
///
/// Not thread-safe: used on the client's event loop.
public struct ConsumerStateMachine {
    public enum State: Equatable {
        case idle
        case subscribing(requestID: UInt64)
        case active
        case waitingToReconnect(attempt: Int)
        case closing(requestID: UInt64)
        case closed
        case failed(PulsarError)
    }

    public enum Action: Equatable {
        case none
        case sendSubscribe(requestID: UInt64)
        case sendFlow(permits: UInt32)
        case sendCloseConsumer(requestID: UInt64)
        /// Try again after `delayNanoseconds` (exponential backoff).
        case scheduleReconnect(delayNanoseconds: UInt64, attempt: Int)
        /// The consumer failed for good (not retryable).
        case fail(PulsarError)
        case closed
    }

    /// What to do with one received message.
    public enum Disposition: Equatable {
        case deliver
        /// A redelivered duplicate of something already queued or delivered: drop.
        case skip
        /// Covered by the restored checkpoint and completing its entry: drop and acknowledge
        /// the entry (the checkpoint that covers it is complete).
        case skipAndAcknowledge(MessageID)
    }

    public private(set) var state: State = .idle
    public let receiverQueueSize: UInt32
    public let backoff: Backoff
    /// Last position queued for the application; redeliveries at or before it are dropped.
    public private(set) var lastQueued: Position?
    /// Position restored from a checkpoint: at or before it is done and acknowledged.
    public let startAfter: Position?
    private var consumedSinceFlow: UInt32 = 0

    public init(receiverQueueSize: UInt32, startAfter: Position? = nil, backoff: Backoff = Backoff()) {
        self.receiverQueueSize = max(1, receiverQueueSize)
        self.startAfter = startAfter
        self.lastQueued = startAfter
        self.backoff = backoff
    }

    // MARK: - Subscribing

    public mutating func subscribe(requestID: UInt64) -> Action {
        switch state {
        case .idle, .waitingToReconnect:
            state = .subscribing(requestID: requestID)
            return .sendSubscribe(requestID: requestID)
        default:
            return .none
        }
    }

    public mutating func subscribeSucceeded() -> Action {
        guard case .subscribing = state else { return .none }
        state = .active
        consumedSinceFlow = 0
        return .sendFlow(permits: receiverQueueSize)
    }

    public mutating func subscribeFailed(_ error: PulsarError) -> Action {
        guard case .subscribing = state else { return .none }
        guard error.isRetryable else {
            state = .failed(error)
            return .fail(error)
        }
        return scheduleReconnect(attempt: 0)
    }

    private var reconnectAttempt = 0

    private mutating func scheduleReconnect(attempt: Int) -> Action {
        reconnectAttempt += 1
        state = .waitingToReconnect(attempt: reconnectAttempt)
        return .scheduleReconnect(delayNanoseconds: backoff.delay(attempt: reconnectAttempt), attempt: reconnectAttempt)
    }

    /// The connection carrying this consumer broke (or the broker closed the consumer).
    public mutating func connectionLost() -> Action {
        switch state {
        case .active:
            reconnectAttempt = 0
            return scheduleReconnect(attempt: 0)
        case .subscribing:
            return scheduleReconnect(attempt: reconnectAttempt)
        case .closing:
            state = .closed
            return .closed
        default:
            return .none
        }
    }

    /// Connecting for a resubscription failed; back off further.
    public mutating func reconnectFailed() -> Action {
        guard case .waitingToReconnect = state else { return .none }
        return scheduleReconnect(attempt: reconnectAttempt)
    }

    /// The subscription is active again: the backoff starts over.
    public mutating func resetBackoff() { reconnectAttempt = 0 }

    // MARK: - Messages

    /// A message arrived; says whether to queue it for the application.
    public mutating func received(_ id: MessageID, completesEntry: Bool) -> Disposition {
        let position = id.position
        if let last = lastQueued, position <= last {
            if let start = startAfter, position <= start, completesEntry { return .skipAndAcknowledge(id.entryID) }
            return .skip
        }
        lastQueued = position
        return .deliver
    }

    /// The application took `count` messages of this partition (or `count` were dropped).
    public mutating func consumed(_ count: Int) -> Action {
        guard state == .active, count > 0 else { return .none }
        consumedSinceFlow += UInt32(clamping: count)
        if consumedSinceFlow >= max(1, receiverQueueSize / 2) {
            let permits = consumedSinceFlow
            consumedSinceFlow = 0
            return .sendFlow(permits: permits)
        }
        return .none
    }

    // MARK: - Closing

    public mutating func close(requestID: UInt64) -> Action {
        switch state {
        case .active, .subscribing:
            state = .closing(requestID: requestID)
            return .sendCloseConsumer(requestID: requestID)
        case .closing, .closed:
            return .none
        default:
            state = .closed
            return .closed
        }
    }

    public mutating func closeAnswered() -> Action {
        state = .closed
        return .closed
    }
}

/// Exponential backoff: `initial` doubled per attempt up to `maximum`.
public struct Backoff: Equatable, Sendable {
    public var initialNanoseconds: UInt64
    public var maximumNanoseconds: UInt64

    public init(initialNanoseconds: UInt64 = 100_000_000, maximumNanoseconds: UInt64 = 10_000_000_000) {
        self.initialNanoseconds = initialNanoseconds
        self.maximumNanoseconds = maximumNanoseconds
    }

    /// The delay before attempt `attempt` (1-based).
    public func delay(attempt: Int) -> UInt64 {
        let shift = UInt64(min(max(attempt - 1, 0), 40))
        let (value, overflow) = initialNanoseconds.multipliedReportingOverflow(by: 1 << shift)
        return overflow ? maximumNanoseconds : min(value, maximumNanoseconds)
    }
}
