/// The protocol logic of one consumer on one topic partition, with no I/O: subscribing,
/// seeking to a restored position, flow permits, filtering of redelivered messages,
/// acknowledgements (with receipts, re-sent after a reconnect until confirmed), reconnecting
/// with exponential backoff and closing. Events in, actions out.
///
/// Flow control: once subscribed (and sought) the broker gets `receiverQueueSize` permits;
/// each message the application takes returns one, and permits go back to the broker in one
/// FLOW once half the queue has been consumed. So at most about `receiverQueueSize` messages of
/// this partition are ever buffered.
///
/// Brokers that count permits per entry (pulsar-lite 0.2.0's Exclusive and Failover
/// dispatchers take one permit per entry, batch or not, where Apache Pulsar takes one per
/// message) would otherwise be granted a batch size's
/// worth of messages per returned permit and fill memory with the whole backlog. For them
/// (`permitsPerEntry`) permits are granted in entries, sized by the average entry seen, so that
/// queued messages plus the entries granted and not yet received stay within about
/// `receiverQueueSize` messages: one entry first, then as room frees up. Those dispatchers
/// also sometimes miss a FLOW that arrives while they dispatch (a lost wake-up: the permits
/// are counted but nothing more is sent, seen with one consumer per lane reading two
/// partitions of a backlog); `idleCheck` answers an entry-mode consumer that waits for granted
/// entries and received none since the last check with a FLOW of 0 permits, which wakes the
/// dispatcher without granting more.
///
/// Bytes: `receiverQueueBytes` also bounds the payload bytes buffered per partition, so that
/// large messages cannot fill memory with `receiverQueueSize` of them. In entry mode grants are
/// sized by the average entry's bytes as well as its messages (at least one entry is granted
/// when nothing is queued or outstanding, so an entry larger than the bound still flows). In
/// message mode the first grant is `receiverQueueSize` permits (nothing is known of the sizes
/// yet) and later FLOWs wait while more than half the bytes are queued.
///
/// Duplicates: the broker redelivers everything not yet acknowledged after a reconnect. Every
/// message at or before the last one queued (or before `startAfter`, the position restored from
/// a checkpoint) is dropped, so the application sees each message once, in order.
///
/// Restoring (`startAfter` set): the first subscription SEEKs to the entry of `startAfter`, so
/// the broker does not replay what the restored checkpoint already covers. A broker that
/// refuses SEEK (or drops the connection over it) is remembered as not supporting it, and the
/// consumer falls back to skipping the replayed messages (acknowledging their entries, which the
/// restored checkpoint covers). Shared and Key_Shared subscriptions then send
/// REDELIVER_UNACKNOWLEDGED_MESSAGES, so whatever the broker still holds as dispatched to this
/// consumer comes back at once instead of after the broker's own redelivery delay.
///
/// Acknowledgements carry a request id; the broker answers each with ACK_RESPONSE. An ack not
/// yet answered when the connection drops may never have reached the broker (an individual ack
/// lost that way would leave its entry unacknowledged for good, and the redelivered entry is
/// dropped as a duplicate), so every unanswered ack is sent again after the resubscription,
/// together with those made while disconnected. Acknowledging twice is harmless.
///
/// Not thread-safe: used on the client's event loop.
public struct ConsumerStateMachine {
    public enum State: Equatable {
        case idle
        case subscribing(requestID: UInt64)
        /// Subscribed; SEEK sent, waiting for its answer before granting permits.
        case seeking
        case active
        case waitingToReconnect(attempt: Int)
        case closing(requestID: UInt64)
        case closed
        case failed(PulsarError)
    }

    /// One ACK command: `token` identifies it until its ACK_RESPONSE comes back.
    public struct AckCommand: Equatable, Sendable {
        public var token: UInt64
        public var ids: [MessageID]
        public var cumulative: Bool
    }

    public enum Action: Equatable {
        case none
        case sendSubscribe(requestID: UInt64)
        /// SEEK to this entry (the broker redelivers from it, inclusive).
        case sendSeek(MessageID)
        case sendFlow(permits: UInt32)
        /// ACK with a request id; report the answer with `ackAnswered(token:error:)`.
        case sendAck(AckCommand)
        case sendRedeliverUnacknowledged
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

    /// Whether the broker answers SEEK.
    public enum SeekSupport: Equatable { case unknown, supported, unsupported }

    public private(set) var state: State = .idle
    public let receiverQueueSize: UInt32
    /// Payload bytes buffered per partition at most (see above); `Int.max`: no byte bound.
    public let receiverQueueBytes: Int
    public let backoff: Backoff
    /// Shared or Key_Shared: individual acks, and REDELIVER after a restore.
    public let shared: Bool
    /// Last position queued for the application; redeliveries at or before it are dropped.
    public private(set) var lastQueued: Position?
    /// Position restored from a checkpoint: at or before it is done and acknowledged.
    public let startAfter: Position?
    public private(set) var seekSupport: SeekSupport
    private var seekDone: Bool
    private var redeliverPending: Bool
    private var consumedSinceFlow: UInt32 = 0
    /// Permits count entries (see above); set when the subscription succeeds.
    public private(set) var permitsPerEntry = false
    /// Entry mode: messages handed to the application and not yet consumed, entries granted
    /// and not yet received, and the running sums that give the average entry size.
    private var queuedMessages = 0
    private var outstandingEntries = 0
    /// `entriesSeen` at the last `idleCheck`.
    private var entriesSeenAtLastCheck = -1
    private var entriesSeen = 0
    private var messagesSeen = 0
    /// Payload bytes queued for the application and not yet consumed (both modes), and the
    /// running sum that gives the average entry's bytes.
    private var queuedBytes = 0
    private var bytesSeen = 0
    private var reconnectAttempt = 0
    /// Acks sent and not yet answered, by token.
    public private(set) var unconfirmedAcks: [UInt64: AckCommand] = [:]
    /// Acks made while not subscribed.
    private var queuedIndividual: [MessageID] = []
    private var queuedCumulative: MessageID?
    private var nextAckToken: UInt64 = 1
    /// At most this many unanswered individual acks are kept (a broker that never answers
    /// acks must not grow memory without bound); the oldest are dropped first.
    public static let maxUnconfirmedAcks = 100_000

    public init(receiverQueueSize: UInt32, receiverQueueBytes: Int = .max, startAfter: Position? = nil, shared: Bool = false,
                seek: SeekSupport = .unknown, backoff: Backoff = Backoff()) {
        self.receiverQueueSize = max(1, receiverQueueSize)
        self.receiverQueueBytes = max(1, receiverQueueBytes)
        self.startAfter = startAfter
        self.lastQueued = startAfter
        self.shared = shared
        self.backoff = backoff
        seekSupport = seek
        seekDone = startAfter == nil
        redeliverPending = shared && startAfter != nil
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

    /// SUBSCRIBE succeeded: SEEK first when restoring, else grant permits (and re-send acks).
    /// `permitsPerEntry`: the broker counts flow permits per entry.
    public mutating func subscribeSucceeded(permitsPerEntry: Bool = false) -> [Action] {
        guard case .subscribing = state else { return [] }
        self.permitsPerEntry = permitsPerEntry
        if !seekDone, seekSupport != .unsupported, let start = startAfter {
            state = .seeking
            return [.sendSeek(MessageID(ledger: start.ledger, entry: start.entry))]
        }
        return activate()
    }

    /// The broker accepted the SEEK.
    public mutating func seekSucceeded() -> [Action] {
        guard state == .seeking else { return [] }
        seekDone = true
        seekSupport = .supported
        return activate()
    }

    /// The broker refused the SEEK, or did not answer it, or dropped the connection over it:
    /// it is taken not to support SEEK, and the consumer skips instead. When the connection
    /// is gone, `connectionLost` follows and the resubscription does not seek again.
    public mutating func seekFailed(_ error: PulsarError) -> [Action] {
        guard state == .seeking else { return [] }
        seekSupport = .unsupported
        seekDone = true
        if case .connectionClosed = error { return [] }
        return activate()
    }

    private mutating func activate() -> [Action] {
        state = .active
        consumedSinceFlow = 0
        var actions = resendAcks()
        if redeliverPending {
            redeliverPending = false
            actions.append(.sendRedeliverUnacknowledged)
        }
        if permitsPerEntry {
            // A new subscription: the broker forgot earlier permits and the queue keeps what
            // it holds.
            outstandingEntries = 0
            if let grant = entryGrant(force: true) { actions.append(grant) }
        } else {
            actions.append(.sendFlow(permits: receiverQueueSize))
        }
        return actions
    }

    /// Entry mode: the permits (entries) that fit, if worth a FLOW.
    private mutating func entryGrant(force: Bool = false) -> Action? {
        let average = entriesSeen == 0 ? Int(receiverQueueSize) : max(1, (messagesSeen + entriesSeen - 1) / entriesSeen)
        let room = Int(receiverQueueSize) - queuedMessages - outstandingEntries * average
        // Bytes: unbounded until an entry has been seen.
        let averageBytes = entriesSeen == 0 || receiverQueueBytes == .max ? 0 : max(1, bytesSeen / entriesSeen)
        let bytesRoom = averageBytes == 0 ? Int.max : receiverQueueBytes - queuedBytes - outstandingEntries * averageBytes
        let idle = queuedMessages <= 0 && outstandingEntries == 0
        guard force || idle || (room >= Int(max(1, receiverQueueSize / 2)) && bytesRoom >= receiverQueueBytes / 2) else { return nil }
        let fit = averageBytes == 0 ? room / average : min(room / average, bytesRoom / averageBytes)
        let entries = max(fit, outstandingEntries == 0 ? 1 : 0)
        guard entries > 0 else { return nil }
        outstandingEntries += entries
        return .sendFlow(permits: UInt32(clamping: entries))
    }

    /// One entry of `messages` messages arrived, `bytes` of payload queued (all of it is queued
    /// or reported as consumed when skipped). Grants more in entry mode.
    public mutating func entryReceived(messages: Int, bytes: Int = 0) -> Action {
        queuedBytes += bytes
        bytesSeen += bytes
        guard permitsPerEntry else { return .none }
        outstandingEntries = max(0, outstandingEntries - 1)
        entriesSeen += 1
        messagesSeen += max(1, messages)
        queuedMessages += messages
        guard state == .active else { return .none }
        return entryGrant() ?? .none
    }

    /// Called periodically (the client: every 500 ms). In entry mode, a consumer that waits for
    /// entries it granted and received none since the last check nudges the broker with a FLOW
    /// of 0 permits; on a topic with nothing new that is one small frame per check.
    public mutating func idleCheck() -> Action {
        defer { entriesSeenAtLastCheck = entriesSeen }
        guard permitsPerEntry, state == .active, outstandingEntries > 0, entriesSeen == entriesSeenAtLastCheck else { return .none }
        return .sendFlow(permits: 0)
    }

    /// SUBSCRIBE failed; a first subscription that is retried by its caller uses `reset`.
    public mutating func subscribeFailed(_ error: PulsarError) -> Action {
        guard case .subscribing = state else { return .none }
        guard error.isRetryable else {
            state = .failed(error)
            return .fail(error)
        }
        return scheduleReconnect()
    }

    /// Back to `idle` after a failed first subscription (its caller retries); what was
    /// learnt (acks to send, SEEK support) is kept.
    public mutating func reset() {
        switch state {
        case .subscribing, .seeking, .waitingToReconnect: state = .idle
        default: break
        }
    }

    private mutating func scheduleReconnect() -> Action {
        reconnectAttempt += 1
        state = .waitingToReconnect(attempt: reconnectAttempt)
        return .scheduleReconnect(delayNanoseconds: backoff.delay(attempt: reconnectAttempt), attempt: reconnectAttempt)
    }

    /// The connection carrying this consumer broke (or the broker closed the consumer).
    public mutating func connectionLost() -> Action {
        switch state {
        case .active:
            reconnectAttempt = 0
            return scheduleReconnect()
        case .subscribing, .seeking:
            return scheduleReconnect()
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
        return scheduleReconnect()
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

    /// The application took `count` messages of this partition, `bytes` of payload (or `count`
    /// were dropped, never queued).
    public mutating func consumed(_ count: Int, bytes: Int = 0) -> Action {
        queuedBytes = max(0, queuedBytes - bytes)
        if permitsPerEntry {
            queuedMessages = max(0, queuedMessages - count)
            guard state == .active, count > 0 else { return .none }
            return entryGrant() ?? .none
        }
        guard state == .active, count > 0 else { return .none }
        consumedSinceFlow += UInt32(clamping: count)
        // Held back while more than half the bytes are queued; sent once the queue drains.
        if consumedSinceFlow >= max(1, receiverQueueSize / 2) && (queuedBytes <= receiverQueueBytes / 2 || queuedBytes == 0) {
            let permits = consumedSinceFlow
            consumedSinceFlow = 0
            return .sendFlow(permits: permits)
        }
        return .none
    }

    // MARK: - Acknowledgements

    /// The application acknowledges entries (cumulatively: everything up to the last of
    /// `ids`). Sent now when subscribed, else after the resubscription.
    public mutating func acknowledge(_ ids: [MessageID], cumulative: Bool) -> Action {
        guard !ids.isEmpty else { return .none }
        guard state == .active else {
            if cumulative {
                if let last = ids.last, queuedCumulative.map({ $0.position < last.position }) ?? true { queuedCumulative = last }
            } else {
                queuedIndividual.append(contentsOf: ids)
            }
            return .none
        }
        return .sendAck(track(cumulative ? [ids.last!] : ids, cumulative: cumulative))
    }

    /// The broker answered ack `token`: with nil it has it. An error other than a lost
    /// connection or a timeout (the ack is then sent again after the resubscription) drops
    /// the ack: the broker will not take it.
    public mutating func ackAnswered(token: UInt64, error: PulsarError?) {
        switch error {
        case .none: unconfirmedAcks[token] = nil
        case .connectionClosed?, .timeout?: break
        case .some: unconfirmedAcks[token] = nil
        }
    }

    private mutating func track(_ ids: [MessageID], cumulative: Bool) -> AckCommand {
        let command = AckCommand(token: nextAckToken, ids: ids, cumulative: cumulative)
        nextAckToken += 1
        unconfirmedAcks[command.token] = command
        var total = unconfirmedAcks.values.reduce(0) { $0 + $1.ids.count }
        while total > Self.maxUnconfirmedAcks, let oldest = unconfirmedAcks.keys.min() {
            total -= unconfirmedAcks.removeValue(forKey: oldest)!.ids.count
        }
        return command
    }

    /// Everything unanswered and queued, as at most two ACKs (one cumulative, one individual).
    private mutating func resendAcks() -> [Action] {
        var cumulative = queuedCumulative
        var individual: [MessageID] = []
        for (_, command) in unconfirmedAcks.sorted(by: { $0.key < $1.key }) {
            if command.cumulative {
                if let last = command.ids.last, cumulative.map({ $0.position < last.position }) ?? true { cumulative = last }
            } else {
                individual.append(contentsOf: command.ids)
            }
        }
        individual.append(contentsOf: queuedIndividual)
        unconfirmedAcks = [:]
        queuedCumulative = nil
        queuedIndividual = []
        var seen = Set<MessageID>()
        individual = individual.filter { seen.insert($0).inserted }
        var actions: [Action] = []
        if let cumulative { actions.append(.sendAck(track([cumulative], cumulative: true))) }
        if !individual.isEmpty { actions.append(.sendAck(track(individual, cumulative: false))) }
        return actions
    }

    // MARK: - Closing

    public mutating func close(requestID: UInt64) -> Action {
        switch state {
        case .active, .subscribing, .seeking:
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
