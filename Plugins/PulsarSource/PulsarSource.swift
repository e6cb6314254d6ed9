import Foundation
import PluginKit
import PulsarClient

/// Reads Apache Pulsar topics through the binary protocol and takes part in checkpoints so that
/// nothing is lost or read twice. Of a partitioned topic it reads the partitions its lane owns
/// (p mod lane count = lane, ABI 1.2; every partition with one lane); a non-partitioned topic
/// is read by lane 0. A lane that owns nothing idles.
///
///
/// - `snapshot(n)` stores the last delivered message position per topic partition;
/// - `checkpointComplete(n)` acknowledges what checkpoint n covers: cumulatively per partition
///   (Exclusive, Failover) or entry by entry (Shared, Key_Shared), never before;
/// - `restore` hands the positions to the consumer, which SEEKs each partition to its restored
///   entry (where the broker supports it) and skips (and acknowledges) what the broker
///   redelivers at or before them.
///
/// Threads: every plugin method runs on the operator thread; the client runs its own event
/// loop thread; they meet in the consumer's bounded queue. `next` waits at most 50 ms.
public final class PulsarSource: SourcePlugin {
    public typealias Config = PulsarSourceConfig

    public static let name = "pulsar-source"
    public static let version = "1.0.0"
    public static let description = "Reads Apache Pulsar topics; acknowledges on checkpoint completion"
    public static let configSchema = PulsarSourceConfig.schema

    public static func validate(_ config: Config) throws {
        if let first = config.problems().first { throw first }
    }

    /// The columns of `columns` (all eight without it), known from the configuration alone, so
    /// that a pipeline's check finds a transform or sink reading a column the source does not
    /// emit before the run.
    public static func outputSchema(config: Config, input: [ArrowField]?) throws -> [ArrowField]? {
        MessageBatchBuilder.fields(columns: config.columns)
    }

    private let config: Config
    private let host: PluginHost
    private var tracker: AckTracker
    private var emitted = 0
    private var client: PulsarClient?
    private var consumer: PulsarConsumer?
    private let builder: MessageBatchBuilder
    private var restoredPositions: [String: Position] = [:]
    /// This lane owns no partition of its topics (more lanes than partitions).
    private var ownsNothing = false
    private var lag = LagEstimator()
    /// The broker's last message ids, asked for every `lagInterval`, answered on the client's
    /// event loop.
    private let lastStored = LastStoredIDs()
    private var lastLagQuery: UInt64 = 0
    static let lagIntervalNanoseconds: UInt64 = 2_000_000_000

    public init(config: Config, host: PluginHost) throws {
        self.config = config
        self.host = host
        tracker = AckTracker(cumulative: config.subscriptionType.acknowledgesCumulatively)
        builder = MessageBatchBuilder(columns: config.columns)
    }

    // MARK: - Lifecycle

    /// Called once on a resume, and once per old lane on a rescale: the positions add up (a
    /// partition's later position wins, positions only advance), and `open` keeps those of
    /// the partitions this lane owns.
    public func restore(checkpointID: UInt64, state: [UInt8]) throws {
        guard !state.isEmpty else { return }
        let decoded = try SourceState.decode(state)
        emitted += decoded.emitted
        restoredPositions.merge(decoded.positions) { Swift.max($0, $1) }
        tracker.restore(restoredPositions)
        lag.restored(restoredPositions)
        let list = decoded.positions.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value)" }.joined(separator: ", ")
        host.log(.debug, "restored checkpoint \(checkpointID): \(decoded.emitted) messages emitted before; positions \(list.isEmpty ? "none" : list)")
    }

    public func open() throws {
        let host = self.host
        var clientConfig: ClientConfiguration
        do {
            clientConfig = try config.connection.clientConfiguration(serviceURL: config.serviceURL) { host.log(.warn, $0) }
        } catch {
            throw PluginError("cannot connect to \(config.serviceURL): \(error)")
        }
        if let timeout = config.connectionTimeout { clientConfig.connectionTimeout = .nanoseconds(Int64(timeout.seconds * 1e9)) }
        if let timeout = config.operationTimeout { clientConfig.operationTimeout = .nanoseconds(Int64(timeout.seconds * 1e9)) }
        if let max = config.maxFrameSize { clientConfig.maxFrameSize = max }
        // A killed worker's connections must still end with a FIN, or pulsar-lite keeps its
        // consumer and refuses the restarted worker's SUBSCRIBE (see SocketGuardian).
        clientConfig.crashSafeClose = !host.isConnectionCheck
        clientConfig.retryWhileStarting = !host.isConnectionCheck
        let client = PulsarClient(configuration: clientConfig)
        client.log = { host.log(.info, $0) }
        var consumerConfig = ConsumerConfiguration(topics: try config.topicNames(), subscription: config.subscription)
        consumerConfig.subscriptionType = config.subscriptionType
        consumerConfig.initialPosition = config.initialPosition
        consumerConfig.receiverQueueSize = config.receiverQueueSize
        consumerConfig.receiverQueueBytes = config.receiverQueueBytes
        let lane = host.lane
        consumerConfig.consumerName = "sluice-\(host.pipelineName)-\(host.operatorName)" + (lane.count == 1 ? "" : "-lane\(lane.index)")
        consumerConfig.share = PartitionShare(index: lane.index, count: lane.count)
        consumerConfig.startAfter = restoredPositions
        let consumer = PulsarConsumer(client: client, configuration: consumerConfig)
        self.client = client
        self.consumer = consumer
        do {
            try consumer.start().wait()
        } catch {
            throw PluginError("cannot subscribe '\(config.subscription)' at \(config.serviceURL): \(error)")
        }
        let owned = consumer.topicPartitions
        ownsNothing = owned.isEmpty
        tracker.retain(partitions: Set(owned))
        let resumed = owned.compactMap { name in restoredPositions[name].map { "\(name)@\($0)" } }
        if lane.count > 1 {
            for (topic, partitions) in consumer.topicPartitionCounts where partitions == 0 {
                host.log(.warn, "topic \(topic) is not partitioned: only lane 0 of \(lane.count) reads it; partition it to spread it over lanes")
            }
        }
        if owned.isEmpty {
            host.log(.warn, "lane \(lane.index) of \(lane.count) owns no partition of \(config.topicList): it idles (a topic needs at least as many partitions as the pipeline has lanes)")
            host.setStatus("idle: lane \(lane.index) of \(lane.count) owns no partition of \(config.topicList)")
        } else {
            host.setStatus("reads " + owned.map { $0.split(separator: "/").last.map(String.init) ?? $0 }.joined(separator: ", ")
                           + (lane.count == 1 ? "" : " (lane \(lane.index) of \(lane.count))"))
            host.log(.info, "subscribed '\(config.subscription)' (\(config.subscriptionType.rawValue)) to \(owned.joined(separator: ", "))"
                     + (lane.count == 1 ? "" : " as lane \(lane.index) of \(lane.count)")
                     + (resumed.isEmpty ? "" : "; resuming after \(resumed.joined(separator: ", "))"))
        }
    }

    public func close() throws {
        if let consumer {
            _ = try? consumer.close().wait()
        }
        client?.shutdown()
        consumer = nil
        client = nil
    }

    // MARK: - Data

    public func next() throws -> SourceOutput {
        guard let consumer else { throw PluginError("pulsar-source: next() before open()") }
        var limit = config.maxBatchRows
        if let stop = config.stopAfterMessages {
            // A lane that owns no partition will never read its share: its stream is over.
            if emitted >= stop || ownsNothing { return .endOfStream }
            limit = min(limit, stop - emitted)
        }
        reportLag(consumer)
        let entries: [(entry: ReceivedEntry, indices: Range<Int>)]
        do {
            entries = try consumer.receiveEntries(max: limit, maxBytes: config.maxBatchBytes, timeout: .milliseconds(50))
        } catch {
            throw PluginError("pulsar-source: \(error)")
        }
        guard !entries.isEmpty else { return .noData }
        for (entry, indices) in entries {
            // Messages are read in place from the entry's bytes: nothing per message is copied
            // or reference-counted.
            builder.append(entry, indices)
            // The tracker needs every message that completes an entry and the last one delivered
            // (its position is what a snapshot stores): here, at most the last of the range.
            let last = indices.upperBound - 1
            tracker.record(topic: entry.topic, id: entry.id(at: last), completesEntry: entry.completesEntry(at: last))
            lag.emitted(topic: entry.topic, id: entry.id(at: last), entrySize: entry.entrySize)
            emitted += indices.count
        }
        return .batch(builder.finish())
    }

    // MARK: - Lag

    /// An answer of the broker waits for the next `next()` (for tests).
    var lagAnswerWaiting: Bool { lastStored.hasAnswer }

    /// Reports the lag of every partition the broker answered for since the last call, and
    /// asks again every `lagIntervalNanoseconds` (one question in flight at a time).
    private func reportLag(_ consumer: PulsarConsumer) {
        if let answered = lastStored.take() {
            for (partition, id) in answered {
                host.reportLag(partition: partition, messages: lag.lag(partition: partition, lastStored: id))
            }
        }
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - lastLagQuery >= Self.lagIntervalNanoseconds, lastStored.ask() else { return }
        lastLagQuery = now
        let box = lastStored
        consumer.lastMessageIDs().whenComplete { box.answer((try? $0.get()) ?? [:]) }
    }

    // MARK: - Checkpoints

    public func snapshot(checkpointID: UInt64) throws -> [UInt8] {
        try SourceState(emitted: emitted, positions: tracker.snapshot(checkpointID: checkpointID)).encoded()
    }

    public func checkpointComplete(checkpointID: UInt64) throws {
        let acks = tracker.complete(checkpointID: checkpointID)
        guard !acks.isEmpty, let consumer else { return }
        consumer.acknowledge(acks, cumulative: tracker.cumulative)
        host.log(.debug, "checkpoint \(checkpointID): acknowledged \(acks.count) \(tracker.cumulative ? "partition position(s) cumulatively" : "entries")")
    }

    public func checkpointAborted(checkpointID: UInt64) {
        // Nothing to undo: the aborted checkpoint's acknowledgements wait for a later one. No
        // REDELIVER either: its messages have gone downstream already and the next checkpoint
        // covers them; the broker would only send duplicates for the consumer to drop.
    }
}

/// The body of this plugin's C entry point; `Entry/Entry.swift` exports it as
/// `sluice_plugin_entry`, so that the plugin's code can be linked into tests without the symbol.
public func pulsarSourceEntry(_ host: UInt32, _ descriptor: UnsafeMutablePointer<UnsafePointer<sluice_plugin_descriptor>?>?,
               _ error: UnsafeMutablePointer<sluice_error>?) -> sluice_status {
    PluginExport.entry(PulsarSource.self, hostABIVersion: host, descriptor: descriptor, error: error)
}

/// The answer to the last GET_LAST_MESSAGE_ID round, handed from the client's event loop to the
/// operator thread. `@unchecked Sendable`: its state is only touched under `lock`.
final class LastStoredIDs: @unchecked Sendable {
    private let lock = NSLock()
    private var inFlight = false
    private var answered: [String: MessageID]?

    /// Marks a question as asked; false when one is in flight already.
    func ask() -> Bool {
        lock.withLock {
            if inFlight { return false }
            inFlight = true
            return true
        }
    }

    var hasAnswer: Bool { lock.withLock { answered != nil } }

    func answer(_ ids: [String: MessageID]) { lock.withLock { inFlight = false; answered = ids } }

    func take() -> [String: MessageID]? {
        lock.withLock {
            defer { answered = nil }
            return answered
        }
    }
}
