/// The checkpoint coordinator: a pure state machine. Events go in, actions come out; it does no
/// I/O, reads no clock and starts no thread, so every path is tested without threads or files
/// (in the style of postgres-nio's `ConnectionStateMachine`).
///
/// One checkpoint is in flight at a time. Its life:
///   trigger -> `.injectBarrier(id)`: the source snapshots between two batches and sends
///   barrier `id` downstream; every operator snapshots when the barrier reaches it ->
///   all acknowledged -> `.persist(manifest)`: the host writes the manifest durably ->
///   persisted -> `.notifyComplete(id)`: sinks commit, sources acknowledge.
/// A decline, a failed write or a timeout aborts it (`.notifyAborted`); the data stays in the
/// pipeline and the next checkpoint covers it.
///
/// Not thread-safe: owned by the worker's coordinator thread.
public struct CheckpointCoordinator {
    public struct Configuration: Sendable {
        public var pipeline: String
        /// Operator names and plugins, in pipeline order; acknowledgements use these indices.
        public var operators: [(name: String, plugin: String)]
        /// nil: no periodic checkpoints (manual, savepoint and final ones still work).
        public var intervalNanoseconds: UInt64?
        public var timeoutNanoseconds: UInt64
        /// Recorded in every manifest.
        public var layout: PipelineLayout

        public init(pipeline: String, operators: [(name: String, plugin: String)], intervalNanoseconds: UInt64?, timeoutNanoseconds: UInt64,
                    layout: PipelineLayout = .single) {
            self.pipeline = pipeline
            self.layout = layout
            self.operators = operators
            self.intervalNanoseconds = intervalNanoseconds
            self.timeoutNanoseconds = timeoutNanoseconds
        }
    }

    /// Why a checkpoint is taken.
    public enum Trigger: Equatable, Sendable {
        case periodic
        /// Asked for through the admin API or a test.
        case manual
        case savepoint(name: String)
        /// The last one before a graceful stop or after the end of the stream.
        case final
        /// The last one before a stop, kept as a savepoint to restart from (a config reload).
        case finalSavepoint(name: String)

        /// Nothing starts after this one completes.
        public var isFinal: Bool {
            if case .finalSavepoint = self { return true }
            return self == .final
        }

        /// The savepoint name, for the triggers that write savepoints.
        public var savepointName: String? {
            switch self {
            case .savepoint(let name), .finalSavepoint(let name): return name
            default: return nil
            }
        }
    }

    public enum Event: Sendable {
        /// Time passes; `now` is a monotonic clock in nanoseconds.
        case tick(now: UInt64)
        case trigger(Trigger, now: UInt64)
        /// Operator `operatorIndex` snapshotted checkpoint `id`; `rows` went through it since its
        /// previous barrier.
        case acknowledged(id: CheckpointID, operatorIndex: Int, state: [UInt8], rows: Int)
        case declined(id: CheckpointID, operatorIndex: Int, reason: String)
        case persisted(id: CheckpointID, now: UInt64)
        case persistFailed(id: CheckpointID, reason: String)
    }

    public enum Action: Equatable, Sendable {
        case injectBarrier(id: CheckpointID)
        case persist(CheckpointManifest)
        case notifyComplete(CompletedCheckpoint)
        case notifyAborted(id: CheckpointID, trigger: Trigger, reason: String)
        /// Delete old checkpoints beyond the retention count (never savepoints).
        case prune
    }

    public struct CompletedCheckpoint: Equatable, Sendable {
        public var id: CheckpointID
        public var trigger: Trigger
        public var durationNanoseconds: UInt64
        public var stateBytes: Int
        /// Rows each operator passed since the previous checkpoint, in pipeline order.
        public var rows: [Int]
    }

    private struct InFlight {
        var id: CheckpointID
        var trigger: Trigger
        var startedAt: UInt64
        var states: [OperatorSnapshot?]
        var rows: [Int]
        var persisting = false
        var acknowledgedCount: Int { states.lazy.filter { $0 != nil }.count }
    }

    public private(set) var configuration: Configuration
    private var nextID: CheckpointID
    private var inFlight: InFlight?
    /// Non-periodic triggers that arrived while a checkpoint was in flight, in order.
    private var queued: [Trigger] = []
    private var lastStart: UInt64?
    /// Set by a final checkpoint's completion: nothing starts after it.
    public private(set) var finished = false

    /// - Parameter lastCheckpointID: the highest id ever used in the checkpoint directory, so
    ///   ids never repeat across restarts.
    public init(configuration: Configuration, lastCheckpointID: CheckpointID) {
        self.configuration = configuration
        self.nextID = CheckpointID(lastCheckpointID.rawValue + 1)
    }

    public var inFlightID: CheckpointID? { inFlight?.id }
    /// What started the checkpoint in flight.
    public var inFlightTrigger: Trigger? { inFlight?.trigger }

    /// Records that operator `index` now runs `plugin` (after a sink swap), for the manifests
    /// of the checkpoints that follow.
    public mutating func replacePlugin(ofOperator index: Int, with plugin: String) {
        configuration.operators[index].plugin = plugin
    }

    // MARK: - Events

    public mutating func handle(_ event: Event, createdAtMilliseconds: Int64 = 0) -> [Action] {
        switch event {
        case .tick(let now):
            if let flight = inFlight, !flight.persisting, now &- flight.startedAt > configuration.timeoutNanoseconds {
                return abort(reason: "timed out after \(configuration.timeoutNanoseconds / 1_000_000) ms with \(flight.acknowledgedCount) of \(configuration.operators.count) operators acknowledged")
            }
            guard inFlight == nil, !finished else { return [] }
            if !queued.isEmpty { return startQueued(now: now) }
            guard let interval = configuration.intervalNanoseconds else { return [] }
            guard let last = lastStart else {
                lastStart = now  // the interval counts from the start of the run
                return []
            }
            return now &- last >= interval ? start(.periodic, now: now) : []

        case .trigger(let trigger, let now):
            guard !finished else { return [] }
            if inFlight != nil || !queued.isEmpty {
                // Behind a checkpoint in flight, or behind triggers queued after an abort: keep
                // their order. A periodic trigger is covered by whatever runs next.
                if trigger != .periodic && !queued.contains(trigger) { queued.append(trigger) }
                return inFlight == nil ? startQueued(now: now) : []
            }
            return start(trigger, now: now)

        case .acknowledged(let id, let index, let state, let rows):
            guard var flight = inFlight, flight.id == id, !flight.persisting,
                  configuration.operators.indices.contains(index), flight.states[index] == nil else { return [] }
            let op = configuration.operators[index]
            flight.states[index] = OperatorSnapshot(operatorName: op.name, plugin: op.plugin, state: state)
            flight.rows[index] = rows
            guard flight.acknowledgedCount == configuration.operators.count else {
                inFlight = flight
                return []
            }
            flight.persisting = true
            inFlight = flight
            let kind: CheckpointKind = flight.trigger.savepointName.map { .savepoint(name: $0) } ?? .checkpoint
            return [.persist(CheckpointManifest(id: id.rawValue, pipeline: configuration.pipeline, kind: kind,
                                                createdAtMilliseconds: createdAtMilliseconds,
                                                operators: flight.states.map { $0! }, layout: configuration.layout))]

        case .declined(let id, let index, let reason):
            // Once every operator acknowledged, the manifest is being written: too late to decline.
            guard let flight = inFlight, flight.id == id, !flight.persisting else { return [] }
            let name = configuration.operators.indices.contains(index) ? configuration.operators[index].name : "#\(index)"
            return abort(reason: "operator '\(name)' declined: \(reason)")

        case .persisted(let id, let now):
            guard let flight = inFlight, flight.id == id, flight.persisting else { return [] }
            inFlight = nil
            if flight.trigger.isFinal { finished = true; queued.removeAll() }
            let completed = CompletedCheckpoint(
                id: id, trigger: flight.trigger, durationNanoseconds: now &- flight.startedAt,
                stateBytes: flight.states.reduce(0) { $0 + ($1?.state.count ?? 0) }, rows: flight.rows)
            var actions: [Action] = [.notifyComplete(completed)]
            if flight.trigger.savepointName == nil { actions.append(.prune) }
            return actions + startQueued(now: now)

        case .persistFailed(let id, let reason):
            guard inFlight?.id == id else { return [] }
            return abort(reason: "writing the checkpoint failed: \(reason)")
        }
    }

    // MARK: - Transitions

    private mutating func start(_ trigger: Trigger, now: UInt64) -> [Action] {
        let id = nextID
        nextID = CheckpointID(id.rawValue + 1)
        lastStart = now
        inFlight = InFlight(id: id, trigger: trigger, startedAt: now,
                            states: Array(repeating: nil, count: configuration.operators.count),
                            rows: Array(repeating: 0, count: configuration.operators.count))
        return [.injectBarrier(id: id)]
    }

    private mutating func startQueued(now: UInt64) -> [Action] {
        guard !finished, !queued.isEmpty else { return [] }
        return start(queued.removeFirst(), now: now)
    }

    /// Aborts the checkpoint in flight; triggers queued behind it start at the next tick. Whether
    /// a failed savepoint or final checkpoint is retried is the host's decision.
    private mutating func abort(reason: String) -> [Action] {
        guard let flight = inFlight else { return [] }
        inFlight = nil
        return [.notifyAborted(id: flight.id, trigger: flight.trigger, reason: reason)]
    }
}
