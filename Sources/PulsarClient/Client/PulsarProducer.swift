import Glibc
import NIOCore
import ThreadConditions

public struct ProducerConfiguration: Sendable {
    public var topic: TopicName
    public var producerName: String?
    /// Messages per batch entry; 1 sends every message on its own (no batch format).
    public var batchingMaxMessages: Int = 1000
    public var batchingMaxBytes: Int = 128 * 1024
    /// A partial batch is sent after this long.
    public var batchingMaxDelay: TimeAmount = .milliseconds(10)
    public var compression: CompressionCodec = .none
    /// `send` blocks while this many messages await their receipt.
    public var maxPendingMessages: Int = 50_000

    public init(topic: TopicName) { self.topic = topic }
}

/// A producer with batching and compression. Messages with a key go to the partition their
/// key hashes to; others go round-robin, one batch at a time. Each partition keeps its sends
/// in flight across reconnects and resends them after recreating the producer.
///
/// Thread-safe: `send` may be called from any thread (it blocks while too many messages are
/// pending); network work happens on the client's event loop.
// @unchecked Sendable: the mutable state is only touched under `condition`'s lock, or on the
// client's event loop for the partitions' network work.
public final class PulsarProducer: @unchecked Sendable {
    public let client: PulsarClient
    public let configuration: ProducerConfiguration
    private var partitions: [PartitionProducer] = []
    /// Guards the fields below it.
    private let condition = ThreadCondition()
    private var pending = 0
    private var failure: PulsarError?
    private var open: [Int: [OutgoingMessage]] = [:]
    private var openBytes: [Int: Int] = [:]
    private var roundRobin = 0
    private var flushWaiters: [EventLoopPromise<Void>] = []
    private var timer: RepeatedTask?

    public init(client: PulsarClient, configuration: ProducerConfiguration) {
        self.client = client
        self.configuration = configuration
    }

    private var eventLoop: EventLoop { client.eventLoop }

    /// Looks up the topic's partitions and creates a producer on each.
    public func start() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            let deadline = self.client.startDeadline()
            return self.client.retrying("partition metadata of \(self.configuration.topic)", deadline: deadline) {
                self.client.partitionCount(self.configuration.topic)
            }.flatMap { count in
                let names = count == 0 ? [self.configuration.topic.description] : (0..<count).map { self.configuration.topic.partition($0) }
                self.partitions = names.enumerated().map { i, name in
                    PartitionProducer(owner: self, topic: name, partition: count == 0 ? -1 : Int32(i), producerID: self.client.makeID())
                }
                let delay = self.configuration.batchingMaxDelay
                self.timer = self.eventLoop.scheduleRepeatedTask(initialDelay: delay, delay: delay) { [weak self] _ in
                    self?.flushOpenBatches()
                }
                let creations = self.partitions.map { p in
                    self.client.retrying("create producer on \(p.topic)", deadline: deadline) { p.createOnce() }
                }
                return EventLoopFuture.andAllSucceed(creations, on: self.eventLoop)
            }
        }
    }

    /// Adds a message to its partition's batch; sends the batch when full. Blocks while
    /// `maxPendingMessages` messages await receipts. Throws once the producer failed.
    public func send(_ message: OutgoingMessage) throws {
        let count = partitions.count
        precondition(count > 0, "send before start() completed")
        condition.lock()
        while pending >= configuration.maxPendingMessages && failure == nil {
            condition.wait()
        }
        if let failure {
            condition.unlock()
            throw failure
        }
        let partition: Int
        if let key = message.key, count > 1 {
            partition = Int(Self.hash(key) % UInt32(count))
        } else {
            partition = roundRobin % count
        }
        pending += 1
        open[partition, default: []].append(message)
        openBytes[partition, default: 0] += message.payload.readableBytes
        var full: [OutgoingMessage]?
        if open[partition]!.count >= configuration.batchingMaxMessages || openBytes[partition]! >= configuration.batchingMaxBytes {
            full = open.removeValue(forKey: partition)
            openBytes[partition] = 0
            if message.key == nil { roundRobin += 1 }
        }
        if let full {
            // Enqueued under the lock: batches reach the event loop in the order they closed.
            let target = partitions[partition]
            eventLoop.execute { target.sendBatch(full) }
        }
        condition.unlock()
    }

    /// Sends partial batches; the future completes when every message sent so far is stored.
    public func flush() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            self.flushOpenBatches()
            let promise = self.eventLoop.makePromise(of: Void.self)
            self.condition.lock()
            let done = self.pending == 0, failure = self.failure
            if !done && failure == nil { self.flushWaiters.append(promise) }
            self.condition.unlock()
            if let failure { promise.fail(failure) } else if done { promise.succeed(()) }
            return promise.futureResult
        }
    }

    public func close() -> EventLoopFuture<Void> {
        flush().flatMap {
            self.timer?.cancel()
            return EventLoopFuture.andAllComplete(self.partitions.map { $0.close() }, on: self.eventLoop)
        }
    }

    private func flushOpenBatches() {
        condition.lock()
        let batches = open
        open = [:]
        openBytes = [:]
        if !batches.isEmpty { roundRobin += 1 }
        // Behind the full batches already enqueued, so order is kept.
        for (partition, messages) in batches.sorted(by: { $0.key < $1.key }) where !messages.isEmpty {
            let target = partitions[partition]
            eventLoop.execute { target.sendBatch(messages) }
        }
        condition.unlock()
    }

    // MARK: - From partition producers (event loop)

    fileprivate func completed(_ count: Int) {
        condition.lock()
        pending -= count
        let waiters = pending == 0 ? flushWaiters : []
        if pending == 0 { flushWaiters = [] }
        condition.broadcast()
        condition.unlock()
        for w in waiters { w.succeed(()) }
    }

    fileprivate func failed(_ error: PulsarError) {
        condition.lock()
        failure = error
        let waiters = flushWaiters
        flushWaiters = []
        condition.broadcast()
        condition.unlock()
        for w in waiters { w.fail(error) }
    }

    fileprivate func log(_ message: String) { client.log?(message) }

    /// Murmur3-32 of the key's UTF-8 bytes, the hash the official clients route keys with.
    static func hash(_ key: String) -> UInt32 {
        let data = Array(key.utf8)
        let c1: UInt32 = 0xcc9e2d51, c2: UInt32 = 0x1b873593
        var h: UInt32 = 0
        var i = 0
        while i + 4 <= data.count {
            var k = UInt32(data[i]) | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2]) << 16 | UInt32(data[i + 3]) << 24
            k = (k &* c1).rotatedLeft(15) &* c2
            h ^= k
            h = h.rotatedLeft(13) &* 5 &+ 0xe6546b64
            i += 4
        }
        var k: UInt32 = 0
        let rest = data.count - i
        if rest >= 3 { k ^= UInt32(data[i + 2]) << 16 }
        if rest >= 2 { k ^= UInt32(data[i + 1]) << 8 }
        if rest >= 1 {
            k ^= UInt32(data[i])
            h ^= (k &* c1).rotatedLeft(15) &* c2
        }
        h ^= UInt32(truncatingIfNeeded: data.count)
        h ^= h >> 16; h = h &* 0x85ebca6b
        h ^= h >> 13; h = h &* 0xc2b2ae35
        h ^= h >> 16
        return h & 0x7fffffff
    }
}

extension UInt32 {
    fileprivate func rotatedLeft(_ n: UInt32) -> UInt32 { (self << n) | (self >> (32 - n)) }
}

/// One partition of a `PulsarProducer`: its `ProducerStateMachine`, connection and the
/// frames in flight. Event loop only.
private final class PartitionProducer: PulsarConnectionListener {
    unowned let owner: PulsarProducer
    let topic: String
    let partition: Int32
    let producerID: UInt64
    var stateMachine: ProducerStateMachine
    var connection: PulsarChannelHandler?
    var name = ""
    var nextSequenceID: UInt64 = 0
    var frames: [UInt64: (frame: PulsarFrame, count: Int)] = [:]
    var createPromise: EventLoopPromise<Void>?
    var closePromise: EventLoopPromise<Void>?

    init(owner: PulsarProducer, topic: String, partition: Int32, producerID: UInt64) {
        self.owner = owner
        self.topic = topic
        self.partition = partition
        self.producerID = producerID
        stateMachine = ProducerStateMachine(backoff: owner.client.configuration.backoff)
    }

    var eventLoop: EventLoop { owner.client.eventLoop }

    func createOnce() -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        createPromise = promise
        connectAndCreate()
        return promise.futureResult
    }

    private func connectAndCreate() {
        owner.client.lookup(topic).whenComplete { result in
            switch result {
            case .failure(let error):
                if let promise = self.createPromise {
                    self.createPromise = nil
                    promise.fail(error)
                } else {
                    self.run(self.stateMachine.reconnectFailed())
                }
            case .success(let handler):
                self.connection = handler
                handler.register(.producer(self.producerID), self)
                self.run(self.stateMachine.create(requestID: 0))
            }
        }
    }

    func sendBatch(_ messages: [OutgoingMessage]) {
        let sequenceID = nextSequenceID
        nextSequenceID += UInt64(messages.count)
        do {
            frames[sequenceID] = (try makeFrame(messages, sequenceID: sequenceID), messages.count)
        } catch {
            owner.failed(error as? PulsarError ?? .compression("\(error)"))
            return
        }
        run(stateMachine.send(sequenceID: sequenceID))
    }

    private func makeFrame(_ messages: [OutgoingMessage], sequenceID: UInt64) throws -> PulsarFrame {
        let config = owner.configuration
        var metadata = Pulsar_Proto_MessageMetadata()
        metadata.producerName = name
        metadata.sequenceID = sequenceID
        metadata.publishTime = Self.nowMilliseconds()
        let raw: ByteBuffer
        if config.batchingMaxMessages <= 1 && messages.count == 1 {
            let m = messages[0]
            if let key = m.key { metadata.partitionKey = key }
            if let e = m.eventTime { metadata.eventTime = e }
            metadata.properties = m.properties.map { kv in
                var p = Pulsar_Proto_KeyValue()
                p.key = kv.key
                p.value = kv.value
                return p
            }
            raw = m.payload
        } else {
            metadata.numMessagesInBatch = Int32(messages.count)
            metadata.highestSequenceID = sequenceID + UInt64(messages.count) - 1
            raw = try BatchCodec.pack(messages, firstSequenceID: sequenceID)
        }
        if config.compression != .none {
            metadata.compression = config.compression.protocolValue
            metadata.uncompressedSize = UInt32(raw.readableBytes)
        }
        let payload = try config.compression.compress(raw)
        let command = PulsarCommands.send(producerID: producerID, sequenceID: sequenceID, messageCount: messages.count)
        return PulsarFrame(command: command, payload: .init(metadata: metadata, payload: payload))
    }

    static func nowMilliseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(now.tv_sec) * 1000 + UInt64(now.tv_nsec) / 1_000_000
    }

    private func run(_ action: ProducerStateMachine.Action) {
        switch action {
        case .none:
            break
        case .sendProducer:
            guard let connection else { return }
            connection.request { id in
                let producerName: String? = !self.name.isEmpty ? self.name : self.owner.configuration.producerName
                return PulsarCommands.producer(topic: self.topic, producerID: self.producerID, requestID: id,
                                               producerName: producerName)
            }.whenComplete { result in
                switch result {
                case .success(let response):
                    if self.name.isEmpty { self.name = response.producerSuccess.producerName }
                    self.run(self.stateMachine.created(name: response.producerSuccess.producerName))
                    self.createPromise?.succeed(())
                    self.createPromise = nil
                case .failure(let error):
                    let pulsarError = error as? PulsarError ?? .connectionClosed("\(error)")
                    if let promise = self.createPromise {
                        self.createPromise = nil
                        self.stateMachine = ProducerStateMachine(backoff: self.stateMachine.backoff)
                        promise.fail(pulsarError)
                    } else {
                        self.run(self.stateMachine.createFailed(pulsarError))
                    }
                }
            }
        case .send(let sequenceIDs):
            guard let connection else { return }
            for id in sequenceIDs {
                if var entry = frames[id] {
                    // Frames made before the broker named the producer carry the name now.
                    if entry.frame.payload?.metadata.producerName.isEmpty == true {
                        entry.frame.payload?.metadata.producerName = name
                        frames[id] = entry
                    }
                    connection.send(entry.frame, flush: false)
                }
            }
            connection.flush()
        case .complete(let ids, _):
            var count = 0
            for id in ids { count += frames.removeValue(forKey: id)?.count ?? 0 }
            owner.completed(count)
        case .fail(let ids, let error):
            for id in ids { frames[id] = nil }
            owner.failed(error)
        case .scheduleReconnect(let delay, let attempt):
            connection?.unregister(.producer(producerID))
            connection = nil
            owner.log("producer on \(topic): reconnecting in \(delay / 1_000_000) ms (attempt \(attempt))")
            eventLoop.scheduleTask(in: .nanoseconds(Int64(delay))) {
                guard case .waitingToReconnect = self.stateMachine.state else { return }
                self.connectAndCreate()
            }
        case .sendCloseProducer:
            guard let connection else { run(stateMachine.closeAnswered()); return }
            connection.request { id in
                PulsarCommands.closeProducer(producerID: self.producerID, requestID: id)
            }.whenComplete { _ in self.run(self.stateMachine.closeAnswered()) }
        case .closed:
            connection?.unregister(.producer(producerID))
            connection = nil
            closePromise?.succeed(())
            closePromise = nil
        }
    }

    func connection(_ connection: PulsarChannelHandler, received frame: PulsarFrame) {
        switch frame.command.type {
        case .sendReceipt:
            let r = frame.command.sendReceipt
            run(stateMachine.receipt(sequenceID: r.sequenceID, messageID: r.hasMessageID ? MessageID(r.messageID) : nil))
        case .sendError:
            let e = frame.command.sendError
            owner.log("producer on \(topic): send error \(e.error): \(e.message)")
            run(stateMachine.sendError(sequenceID: e.sequenceID, .server(code: "\(e.error)", message: e.message)))
        case .closeProducer:
            connection.unregister(.producer(producerID))
            run(stateMachine.connectionLost())
        default:
            break
        }
    }

    func connectionClosed(_ connection: PulsarChannelHandler, error: PulsarError) {
        guard connection === self.connection, createPromise == nil else { return }
        run(stateMachine.connectionLost())
    }

    func close() -> EventLoopFuture<Void> {
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
