import NIOCore

/// How a subscription shares its topic between consumers.
public enum SubscriptionType: String, CaseIterable, Sendable {
    case exclusive, failover, shared, keyShared = "key_shared"

    /// Exclusive and Failover deliver in order to one consumer and take cumulative acks;
    /// Shared and Key_Shared need individual acks.
    public var acknowledgesCumulatively: Bool { self == .exclusive || self == .failover }

    var protocolValue: Pulsar_Proto_CommandSubscribe.SubType {
        switch self {
        case .exclusive: return .exclusive
        case .failover: return .failover
        case .shared: return .shared
        case .keyShared: return .keyShared
        }
    }
}

public enum InitialPosition: String, Sendable { case earliest, latest }

public struct ConsumerConfiguration: Sendable {
    public var topics: [TopicName]
    public var subscription: String
    public var subscriptionType: SubscriptionType = .exclusive
    public var initialPosition: InitialPosition = .earliest
    /// Messages the broker may push ahead per partition (flow permits).
    public var receiverQueueSize: Int = 1000
    /// Payload bytes buffered per partition at most (see `ConsumerStateMachine`); `Int.max`:
    /// only the message count bounds the queue.
    public var receiverQueueBytes: Int = .max
    public var consumerName: String?
    /// Per topic partition name: everything at or before this position is done (a restored
    /// checkpoint). It is skipped, and acknowledged as its entries complete.
    public var startAfter: [String: Position] = [:]
    /// When restoring, SEEK each partition to its restored position first (brokers that
    /// refuse SEEK fall back to skipping the replayed messages).
    public var seekOnRestore = true
    /// Which partitions this consumer owns; every one by default.
    public var share = PartitionShare.all

    public init(topics: [TopicName], subscription: String) {
        self.topics = topics
        self.subscription = subscription
    }
}

/// The partitions one of `count` consumers of a subscription owns, statically: partition p
/// belongs to consumer p mod count. A non-partitioned topic belongs to consumer 0.
public struct PartitionShare: Equatable, Sendable {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) {
        precondition(count >= 1 && (0..<count).contains(index), "invalid partition share")
        self.index = index
        self.count = count
    }

    public static let all = PartitionShare(index: 0, count: 1)

    /// `partition` -1 is a non-partitioned topic.
    public func owns(partition: Int) -> Bool {
        partition < 0 ? index == 0 : partition % count == index
    }
}

/// A consumer of one or more topics, the partitions of each that its share owns: subscribes, keeps every partition
/// subscribed across broker restarts (reconnecting with exponential backoff and resuming where
/// it was, without duplicates), and hands messages to one application thread through a
/// bounded queue.
///
/// Thread-safe: `receive` is meant for one application thread; everything else hops to the
/// client's event loop.
// @unchecked Sendable: `partitions` is only touched on the client's event loop; the queue is
// thread-safe itself.
public final class PulsarConsumer: @unchecked Sendable {
    public let client: PulsarClient
    public let configuration: ConsumerConfiguration
    private let queue = MessageQueue()
    private var partitions: [PartitionConsumer] = []
    private var eventLoop: EventLoop { client.eventLoop }

    public init(client: PulsarClient, configuration: ConsumerConfiguration) {
        self.client = client
        self.configuration = configuration
    }

    /// Each topic with its partition count (0: not partitioned), after `start`. Event loop.
    private var partitionCounts: [(topic: String, partitions: Int)] = []

    /// Each topic with its partition count (0: not partitioned), after `start`.
    public var topicPartitionCounts: [(topic: String, partitions: Int)] {
        (try? eventLoop.submit { self.partitionCounts }.wait()) ?? []
    }

    /// Topic partitions this consumer reads (after `start`).
    public var topicPartitions: [String] {
        (try? eventLoop.submit { self.partitions.map(\.topic) }.wait()) ?? []
    }

    /// Looks up the partitions of every topic and subscribes to each, retrying while the
    /// broker is unreachable until the operation timeout.
    public func start() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            let deadline = self.client.startDeadline()
            let lookups = self.configuration.topics.map { topic in
                self.client.retrying("partition metadata of \(topic)", deadline: deadline) { self.client.partitionCount(topic) }
                    .map { (topic, $0) }
            }
            return EventLoopFuture.whenAllSucceed(lookups, on: self.eventLoop).flatMap { counts in
                let share = self.configuration.share
                for (topic, count) in counts {
                    if count == 0 {
                        if share.owns(partition: -1) { self.addPartition(topic.description, index: -1) }
                    } else {
                        for i in 0..<count where share.owns(partition: i) { self.addPartition(topic.partition(i), index: Int32(i)) }
                    }
                }
                self.partitionCounts = counts.map { ($0.0.description, $0.1) }
                let subscriptions = self.partitions.map { p in
                    self.client.retrying("subscribe to \(p.topic)", deadline: deadline, explain: self.explainSubscribeFailure) { p.subscribeOnce() }
                }
                return EventLoopFuture.andAllSucceed(subscriptions, on: self.eventLoop)
            }
        }
    }

    /// Says what a refused SUBSCRIBE waits for. An Exclusive or Failover subscription refuses
    /// a second consumer while the broker still has the previous one (a worker that crashed):
    /// Apache Pulsar answers ConsumerBusy, pulsar-lite closes the connection.
    private func explainSubscribeFailure(_ error: PulsarError) -> String? {
        let waiting = "waiting for the broker to drop an earlier consumer of subscription '\(configuration.subscription)' (a crashed worker's) until operation_timeout"
        switch error {
        case .server(code: "ConsumerBusy", _): return waiting
        case .connectionClosed where configuration.subscriptionType == .exclusive || configuration.subscriptionType == .failover:
            return "the broker may have refused it because it still has a consumer on this \(configuration.subscriptionType.rawValue) subscription; " + waiting
        default: return nil
        }
    }

    private func addPartition(_ topic: String, index: Int32) {
        let consumer = PartitionConsumer(owner: self, index: partitions.count, topic: topic, partition: index,
                                         consumerID: client.makeID(), startAfter: configuration.startAfter[topic])
        partitions.append(consumer)
    }

    /// Takes up to `max` messages, waiting at most `timeout` for the first. Throws when the
    /// consumer failed for good (a non-retryable broker error). Application thread.
    public func receive(max: Int, timeout: TimeAmount) throws -> [ReceivedMessage] {
        var messages: [ReceivedMessage] = []
        for (entry, indices) in try receiveEntries(max: max, timeout: timeout) {
            for index in indices { messages.append(entry.message(at: index)) }
        }
        return messages
    }

    /// As `receive`, but as the entries the messages arrived in, each with the range of its
    /// messages taken (in order), read in place: no message is copied or reference-counted.
    /// At most `maxBytes` of payload (but at least one message). Application thread.
    public func receiveEntries(max: Int, maxBytes: Int = .max, timeout: TimeAmount) throws -> [(entry: ReceivedEntry, indices: Range<Int>)] {
        let chunks = try queue.take(max: max, maxBytes: maxBytes, timeoutNanoseconds: UInt64(Swift.max(0, timeout.nanoseconds)))
        guard !chunks.isEmpty else { return [] }
        var counts: [(consumer: Int, count: Int, bytes: Int)] = []
        var result: [(entry: ReceivedEntry, indices: Range<Int>)] = []
        result.reserveCapacity(chunks.count)
        for chunk in chunks {
            if let last = counts.indices.last, counts[last].consumer == chunk.consumer {
                counts[last].count += chunk.indices.count
                counts[last].bytes += chunk.bytes
            } else {
                counts.append((chunk.consumer, chunk.indices.count, chunk.bytes))
            }
            result.append((chunk.entry, chunk.indices))
        }
        eventLoop.execute {
            for (index, n, bytes) in counts { self.partitions[index].consumed(n, bytes: bytes) }
        }
        return result
    }

    /// Messages waiting in the queue.
    public var queuedCount: Int { queue.count }

    /// Acknowledges entries: cumulatively (one id per partition: everything up to and
    /// including that entry) or individually. Sent at once when connected, else after the
    /// partition resubscribes. Any thread.
    public func acknowledge(_ ids: [(topic: String, id: MessageID)], cumulative: Bool) {
        guard !ids.isEmpty else { return }
        eventLoop.execute {
            var byTopic: [String: [MessageID]] = [:]
            for (topic, id) in ids { byTopic[topic, default: []].append(id) }
            for p in self.partitions {
                if let list = byTopic[p.topic] { p.acknowledge(list, cumulative: cumulative) }
            }
        }
    }

    /// The id of the last message stored on each partition this consumer reads, by partition
    /// name (GET_LAST_MESSAGE_ID, asked of every partition at once). A partition that is not
    /// subscribed right now, or whose broker does not answer, is left out. Any thread.
    public func lastMessageIDs() -> EventLoopFuture<[String: MessageID]> {
        eventLoop.flatSubmit {
            let asked = self.partitions.map { p in p.lastMessageID().map { id in id.map { (p.topic, $0) } } }
            return EventLoopFuture.whenAllComplete(asked, on: self.eventLoop).map { results in
                var ids: [String: MessageID] = [:]
                for case .success(let answer?) in results { ids[answer.0] = answer.1 }
                return ids
            }
        }
    }

    /// Closes every partition's consumer (CLOSE_CONSUMER) and waits for the answers.
    public func close() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            EventLoopFuture.andAllComplete(self.partitions.map { $0.close() }, on: self.eventLoop)
        }
    }

    // MARK: - From partition consumers (event loop)

    fileprivate func enqueue(consumer: Int, _ entry: ReceivedEntry, bytes: Int) { queue.append(consumer: consumer, entry, bytes: bytes) }
    fileprivate func failed(_ error: PulsarError) { queue.fail(error) }
    fileprivate var subscriptionName: String { configuration.subscription }
    fileprivate func log(_ message: String) { client.log?(message) }
}

/// One topic partition of a `PulsarConsumer`: its `ConsumerStateMachine` and the connection it
/// is subscribed on. Event loop only.
private final class PartitionConsumer: PulsarConnectionListener {
    unowned let owner: PulsarConsumer
    let index: Int
    let topic: String
    let partition: Int32
    let consumerID: UInt64
    var stateMachine: ConsumerStateMachine
    var connection: PulsarChannelHandler?
    var subscribePromise: EventLoopPromise<Void>?
    var closePromise: EventLoopPromise<Void>?
    var wasSubscribed = false
    /// `ConsumerStateMachine.idleCheck` every 500 ms from the first subscription to the close.
    var idleChecks: RepeatedTask?

    init(owner: PulsarConsumer, index: Int, topic: String, partition: Int32, consumerID: UInt64, startAfter: Position?) {
        self.owner = owner
        self.index = index
        self.topic = topic
        self.partition = partition
        self.consumerID = consumerID
        let backoff = owner.client.configuration.backoff
        stateMachine = ConsumerStateMachine(receiverQueueSize: UInt32(clamping: owner.configuration.receiverQueueSize),
                                            receiverQueueBytes: owner.configuration.receiverQueueBytes,
                                            startAfter: startAfter,
                                            shared: !owner.configuration.subscriptionType.acknowledgesCumulatively,
                                            seek: owner.configuration.seekOnRestore ? .unknown : .unsupported,
                                            backoff: backoff)
    }

    var eventLoop: EventLoop { owner.client.eventLoop }

    /// One attempt: lookup, SUBSCRIBE, (SEEK,) FLOW. The future fails when this attempt fails.
    func subscribeOnce() -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        subscribePromise = promise
        owner.client.lookup(topic).whenComplete { result in
            switch result {
            case .failure(let error):
                self.subscribePromise = nil
                self.stateMachine.reset()
                promise.fail(error)
            case .success(let handler):
                self.connection = handler
                handler.register(.consumer(self.consumerID), self)
                self.run(self.stateMachine.subscribe(requestID: 0))
            }
        }
        return promise.futureResult
    }

    private func run(_ actions: [ConsumerStateMachine.Action]) {
        for action in actions { run(action) }
    }

    /// The subscription is usable: the first `subscribeOnce` succeeds.
    private func becameActive() {
        guard stateMachine.state == .active else { return }
        if idleChecks == nil {
            idleChecks = eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(500), delay: .milliseconds(500)) { [weak self] _ in
                guard let self else { return }
                self.run(self.stateMachine.idleCheck())
            }
        }
        stateMachine.resetBackoff()
        if wasSubscribed { owner.log("resubscribed to \(topic)") }
        wasSubscribed = true
        subscribePromise?.succeed(())
        subscribePromise = nil
    }

    /// A first subscription attempt failed: its caller retries (or gives up).
    private func firstAttemptFailed(_ error: PulsarError) {
        let promise = subscribePromise
        subscribePromise = nil
        connection?.unregister(.consumer(consumerID))
        connection = nil
        stateMachine.reset()
        promise?.fail(error)
    }

    private func run(_ action: ConsumerStateMachine.Action) {
        switch action {
        case .none:
            break
        case .sendSubscribe:
            guard let connection else { return }
            let config = owner.configuration
            connection.request { id in
                PulsarCommands.subscribe(topic: self.topic, subscription: config.subscription,
                                         subscriptionType: config.subscriptionType, consumerID: self.consumerID,
                                         requestID: id, consumerName: config.consumerName,
                                         initialPosition: config.initialPosition)
            }.whenComplete { result in
                switch result {
                case .success:
                    // Apache Pulsar counts flow permits per message. pulsar-lite 0.2.0 (server
                    // version "Pulsar-Lite-...") does too for Shared and Key_Shared, but its
                    // Exclusive and Failover dispatchers take one permit per entry (its debug
                    // log: "Exclusive consumer 1 flowing 10 permits" then one entry of 50
                    // messages per permit; Shared: "remaining permits=-49").
                    let perEntry = (connection.serverVersion?.lowercased().hasPrefix("pulsar-lite") ?? false)
                        && config.subscriptionType.acknowledgesCumulatively
                    self.run(self.stateMachine.subscribeSucceeded(permitsPerEntry: perEntry))
                    self.becameActive()
                case .failure(let error):
                    let pulsarError = error as? PulsarError ?? .connectionClosed("\(error)")
                    if self.subscribePromise != nil {
                        self.firstAttemptFailed(pulsarError)
                    } else {
                        self.run(self.stateMachine.subscribeFailed(pulsarError))
                    }
                }
            }
        case .sendSeek(let entry):
            guard let connection else { return }
            connection.request { id in
                PulsarCommands.seek(consumerID: self.consumerID, requestID: id, messageID: entry, partition: self.partition)
            }.whenComplete { result in
                switch result {
                case .success:
                    self.owner.log("\(self.topic): sought to \(entry.ledger):\(entry.entry), the entry of the restored position")
                    self.run(self.stateMachine.seekSucceeded())
                    self.becameActive()
                case .failure(let error):
                    let pulsarError = error as? PulsarError ?? .connectionClosed("\(error)")
                    self.owner.log("\(self.topic): the broker does not support SEEK (\(pulsarError)); skipping the messages the restored checkpoint covers instead")
                    self.run(self.stateMachine.seekFailed(pulsarError))
                    if self.stateMachine.state == .seeking {
                        // The connection is gone: retry the subscription (without SEEK).
                        if self.subscribePromise != nil {
                            self.firstAttemptFailed(pulsarError)
                        } else {
                            self.run(self.stateMachine.connectionLost())
                        }
                    } else {
                        self.becameActive()
                    }
                }
            }
        case .sendFlow(let permits):
            connection?.send(PulsarFrame(command: PulsarCommands.flow(consumerID: consumerID, permits: permits)))
        case .sendAck(let ack):
            guard let connection else { return }
            connection.request { id in
                PulsarCommands.ack(consumerID: self.consumerID, cumulative: ack.cumulative, requestID: id,
                                   messageIDs: ack.ids, partition: self.partition)
            }.whenComplete { result in
                switch result {
                case .success:
                    self.stateMachine.ackAnswered(token: ack.token, error: nil)
                case .failure(let error):
                    let pulsarError = error as? PulsarError ?? .connectionClosed("\(error)")
                    if case .server = pulsarError { self.owner.log("\(self.topic): the broker refused an acknowledgement: \(pulsarError)") }
                    self.stateMachine.ackAnswered(token: ack.token, error: pulsarError)
                }
            }
        case .sendRedeliverUnacknowledged:
            owner.log("\(topic): asked the broker to redeliver what it still holds as unacknowledged for this consumer")
            connection?.send(PulsarFrame(command: PulsarCommands.redeliverUnacknowledgedMessages(consumerID: consumerID)))
        case .sendCloseConsumer:
            guard let connection else { run(stateMachine.closeAnswered()); return }
            connection.request { id in
                PulsarCommands.closeConsumer(consumerID: self.consumerID, requestID: id)
            }.whenComplete { _ in self.run(self.stateMachine.closeAnswered()) }
        case .scheduleReconnect(let delay, let attempt):
            connection?.unregister(.consumer(consumerID))
            connection = nil
            owner.log("\(topic): reconnecting in \(delay / 1_000_000) ms (attempt \(attempt))")
            eventLoop.scheduleTask(in: .nanoseconds(Int64(delay))) {
                guard case .waitingToReconnect = self.stateMachine.state else { return }
                self.resubscribe()
            }
        case .fail(let error):
            owner.failed(error)
        case .closed:
            connection?.unregister(.consumer(consumerID))
            connection = nil
            closePromise?.succeed(())
            closePromise = nil
        }
    }

    private func resubscribe() {
        owner.client.lookup(topic).whenComplete { result in
            switch result {
            case .failure:
                self.run(self.stateMachine.reconnectFailed())
            case .success(let handler):
                self.connection = handler
                handler.register(.consumer(self.consumerID), self)
                self.run(self.stateMachine.subscribe(requestID: 0))
            }
        }
    }

    // MARK: - Connection events

    func connection(_ connection: PulsarChannelHandler, received frame: PulsarFrame) {
        switch frame.command.type {
        case .message:
            guard let section = frame.payload else { return }
            let message = frame.command.message
            var id = MessageID(message.messageID)
            id.partition = partition
            var skipped = 0
            var acks: [MessageID] = []
            let entry: ReceivedEntry
            do {
                entry = try BatchCodec.unpackEntry(topic: topic, id: id, metadata: section.metadata, payload: section.payload,
                                                   ackSet: message.ackSet, redeliveryCount: message.redeliveryCount) { id, completesEntry in
                    switch stateMachine.received(id, completesEntry: completesEntry) {
                    case .deliver: return true
                    case .skip: skipped += 1
                    case .skipAndAcknowledge(let entry): skipped += 1; acks.append(entry)
                    }
                    return false
                }
            } catch {
                // A corrupt entry cannot be delivered; fail loudly rather than skip data.
                owner.failed(.protocolViolation("\(error)"))
                return
            }
            let bytes = entry.spans.reduce(0) { $0 + Int($1.payloadCount) }
            run(stateMachine.entryReceived(messages: entry.count + skipped, bytes: bytes))
            owner.enqueue(consumer: index, entry, bytes: bytes)
            if skipped > 0 { run(stateMachine.consumed(skipped)) }
            if !acks.isEmpty {
                run(stateMachine.acknowledge(acks, cumulative: owner.configuration.subscriptionType.acknowledgesCumulatively))
            }
        case .closeConsumer:
            // The broker dropped this consumer (topic unloaded): subscribe again.
            connection.unregister(.consumer(consumerID))
            run(stateMachine.connectionLost())
        default:
            break
        }
    }

    func connectionClosed(_ connection: PulsarChannelHandler, error: PulsarError) {
        guard connection === self.connection else { return }
        if subscribePromise != nil { return }  // the pending SUBSCRIBE request fails and reports it
        owner.log("\(topic): \(error)")
        run(stateMachine.connectionLost())
    }

    // MARK: - Application calls (event loop)

    /// The last message stored on this partition, or nil when not subscribed or refused.
    func lastMessageID() -> EventLoopFuture<MessageID?> {
        guard let connection, stateMachine.state == .active else { return eventLoop.makeSucceededFuture(nil) }
        return connection.request { PulsarCommands.getLastMessageID(consumerID: self.consumerID, requestID: $0) }
            .map { command -> MessageID? in
                guard command.hasGetLastMessageIDResponse else { return nil }
                var id = MessageID(command.getLastMessageIDResponse.lastMessageID)
                id.partition = self.partition
                return id
            }
            .recover { _ in nil }
    }

    func consumed(_ count: Int, bytes: Int) { run(stateMachine.consumed(count, bytes: bytes)) }

    func acknowledge(_ ids: [MessageID], cumulative: Bool) {
        run(stateMachine.acknowledge(ids, cumulative: cumulative))
    }

    func close() -> EventLoopFuture<Void> {
        idleChecks?.cancel()
        idleChecks = nil
        let promise = eventLoop.makePromise(of: Void.self)
        closePromise = promise
        run(stateMachine.close(requestID: 0))
        if case .closed = stateMachine.state, closePromise != nil {
            closePromise = nil
            promise.succeed(())
        }
        return promise.futureResult
    }
}
