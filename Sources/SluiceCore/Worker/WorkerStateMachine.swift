/// The worker's decisions, apart from its threads, files and processes: events in, actions out,
/// in the manner of postgres-nio's connection state machine, which holds its sub-machines. This
/// one holds the ``CheckpointCoordinator`` and decides everything around it: when the pipeline
/// is running and when it has stopped, what a stop request starts, which admin requests wait for
/// which checkpoint and how they are answered, and the steps of a sink swap.
///
/// The worker (the runtime's coordinator thread) turns what happens into ``Event``s and carries
/// out the ``Action``s, some of which report back (a manifest written, a new sink opened). Times
/// are monotonic nanoseconds the worker passes in, so tests drive the clock.
public struct WorkerStateMachine {
    /// Where the pipeline is; what `/readyz` and `/status` report.
    public enum Phase: String, Equatable, Sendable {
        case starting, running, swapping, stopping
    }

    /// How the worker ends.
    public enum Outcome: Equatable, Sendable {
        /// Stopped after a final checkpoint (end of stream, SIGTERM, or a stop request).
        case finished
        case failed(String)
        /// Failed in a way a restart cannot fix (the configuration, or data the table cannot
        /// take): the worker exits with EX_CONFIG and the supervisor does not restart it.
        case misconfigured(String)
    }

    /// An admin request, answered once through ``Action/reply(_:_:)``.
    public typealias RequestID = Int

    public enum Refusal: Equatable, Sendable {
        /// The request is malformed or names something that is not there.
        case badRequest
        /// It conflicts with what exists or is under way.
        case conflict
        /// Not now: the pipeline is stopping, or the checkpoint it waited for aborted.
        case unavailable
        /// The request was fine but carrying it out failed (the new sink did not open).
        case unprocessable
    }

    public enum Reply: Equatable, Sendable {
        case checkpointCompleted(CheckpointCoordinator.CompletedCheckpoint)
        case refused(Refusal, String)
    }

    /// How long the input waited during a swap.
    public struct SwapTiming: Equatable, Sendable {
        public var barrier: CheckpointID
        /// From the pause at the barrier to the switch.
        public var pausedNanoseconds: UInt64
        /// The part of the pause after the old sink had committed its last epoch.
        public var stallBeyondCommitNanoseconds: UInt64
    }

    public enum Event: Sendable {
        case operatorReady(index: Int)
        case operatorStopped(index: Int)
        case operatorFailed(index: Int, message: String, permanent: Bool)
        case acknowledged(CheckpointID, operatorIndex: Int, state: [UInt8], rows: Int, wallClockMilliseconds: Int64)
        case declined(CheckpointID, operatorIndex: Int, reason: String)
        case tick(now: UInt64)
        /// The manifest of a ``Action/persist(_:)`` is durable, or could not be written.
        case persisted(CheckpointID, now: UInt64)
        case persistFailed(CheckpointID, reason: String)
        /// The source returned end-of-stream.
        case sourceEnded(now: UInt64)
        /// SIGTERM or SIGINT.
        case stopSignal(name: String, now: UInt64)
        /// SIGUSR1, with the name the worker generated.
        case savepointSignal(name: String, now: UInt64)
        // Admin requests.
        case checkpointRequested(RequestID, now: UInt64)
        /// `alreadyExists`: a savepoint of that name is in the store.
        case savepointRequested(RequestID, name: String, alreadyExists: Bool, now: UInt64)
        /// With a name, the final checkpoint is kept as that savepoint.
        case stopRequested(RequestID, savepoint: String?, now: UInt64)
        case swapRequested(RequestID)
        /// The new sink was checked and is being opened beside the running one, or was refused.
        case swapAccepted
        case swapRejected(Refusal, String)
        /// The new sink is open, or failed to open.
        case swapOpened(now: UInt64)
        case swapOpenFailed(String)
        /// The sink paused at the barrier of `checkpoint`, its old plugin committed its last
        /// epoch, and it switched to the new one: each at a time.
        case sinkPaused(CheckpointID, at: UInt64)
        case sinkCommitted(at: UInt64)
        case sinkSwapped(at: UInt64)
        /// After ``Action/recordSwap(_:_:)``: the new sink's plugin name, or why recording failed.
        case swapRecorded(plugin: String)
        case swapRecordFailed(String)
    }

    public enum Action: Equatable, Sendable {
        case log(LogLevel, String)
        case phaseChanged(Phase)
        /// Every operator is open: say which chain runs.
        case announceRunning
        case injectBarrier(CheckpointID)
        /// Write the manifest durably, then report `persisted` or `persistFailed`.
        case persist(CheckpointManifest)
        /// Tell every operator (sinks commit), and record the checkpoint.
        case notifyComplete(CheckpointCoordinator.CompletedCheckpoint)
        case notifyAborted(CheckpointID, reason: String)
        case prune
        case stopSource
        /// The final checkpoint completed: every operator thread ends.
        case shutdownOperators
        case reply(RequestID, Reply)
        /// Check the requested sink (its block, plugin and configuration), then report
        /// `swapAccepted` and open it beside the running one (reporting `swapOpened` or
        /// `swapOpenFailed`), or report `swapRejected`.
        case validateSwap(RequestID)
        /// Ask the main sink to pause at its next barrier.
        case pauseSink
        /// Hand the opened sink to the paused main sink, which closes the old one and switches.
        case switchSink
        /// The paused sink goes on with its old plugin.
        case resumeSink
        /// Close and destroy the new sink opened for a swap that will not happen.
        case discardNewSink
        /// Make the swap survive a restart, answer the request, then report `swapRecorded`
        /// or `swapRecordFailed`.
        case recordSwap(RequestID, SwapTiming)
        case finish(Outcome)
    }

    public enum LogLevel: Equatable, Sendable { case info, warn, error }

    private struct Swap {
        enum Stage { case validating, opening, opened }
        var request: RequestID
        var stage: Stage = .validating
        var barrier: CheckpointID?
        var pausedAt: UInt64?
        var committedAt: UInt64?
        var switching = false
    }

    public let topology: PipelineTopology
    public private(set) var coordinator: CheckpointCoordinator
    public private(set) var phase: Phase = .starting
    public private(set) var lastCompleted: CheckpointID
    public private(set) var outcome: Outcome?
    private var readyOperators = 0
    private var stoppedOperators = 0
    /// Lanes whose source returned end-of-stream: the final checkpoint waits for all of them.
    private var endedSources = 0
    /// Admin requests waiting for a checkpoint: each is answered by the first checkpoint of its
    /// trigger that starts after it arrived (`checkpoint` is set then), when that one completes
    /// or aborts. A request that arrives while a checkpoint of the same trigger is in flight
    /// waits for the next one, which the coordinator queues.
    private var waiting: [(trigger: CheckpointCoordinator.Trigger, request: RequestID, checkpoint: CheckpointID?)] = []
    private var swap: Swap?
    /// The latest time an event brought.
    private var clock: UInt64 = 0

    /// `restored`: the checkpoint the worker resumes from, if any.
    public init(topology: PipelineTopology, coordinator: CheckpointCoordinator, restored: CheckpointID?) {
        self.topology = topology
        self.coordinator = coordinator
        lastCompleted = restored ?? 0
    }

    public var isStopping: Bool { phase == .stopping }
    public var isRunning: Bool { readyOperators == topology.operatorCount }
    public var swapUnderWay: Bool { swap != nil }

    // MARK: - Events

    public mutating func handle(_ event: Event) -> [Action] {
        guard outcome == nil else { return [] }
        if let now = event.now { clock = max(clock, now) }
        switch event {
        case .operatorReady:
            readyOperators += 1
            guard readyOperators == topology.operatorCount else { return [] }
            return enter(.running) + [.announceRunning]
        case .operatorStopped:
            stoppedOperators += 1
            return stoppedOperators == topology.operatorCount ? finish(.finished) : []
        case .operatorFailed(let index, let message, let permanent):
            let reason = "operator '\(topology.displayName(of: index))' failed: \(message)"
            return finish(permanent ? .misconfigured(reason) : .failed(reason))
        case .acknowledged(let id, let index, let state, let rows, let wallClock):
            return coordinate(.acknowledged(id: id, operatorIndex: index, state: state, rows: rows), createdAtMilliseconds: wallClock)
        case .declined(let id, let index, let reason):
            return coordinate(.declined(id: id, operatorIndex: index, reason: reason))
        case .tick(let now):
            return coordinate(.tick(now: now))
        case .persisted(let id, let now):
            return coordinate(.persisted(id: id, now: now))
        case .persistFailed(let id, let reason):
            return coordinate(.persistFailed(id: id, reason: reason))
        case .sourceEnded(let now):
            endedSources += 1
            guard endedSources == topology.laneCount else { return [] }
            return enter(.stopping) + coordinate(.trigger(.final, now: now))
        case .stopSignal(let name, let now):
            guard !isStopping else { return [] }
            return enter(.stopping) + [.log(.info, "received \(name): stopping the source and taking a final checkpoint"), .stopSource]
                + coordinate(.trigger(.final, now: now))
        case .savepointSignal(let name, let now):
            return [.log(.info, "received SIGUSR1: taking savepoint '\(name)'")] + coordinate(.trigger(.savepoint(name: name), now: now))
        case .checkpointRequested(let request, let now):
            if let refused = refuseWhileStopping(request) { return refused }
            waiting.append((.manual, request, nil))
            return coordinate(.trigger(.manual, now: now))
        case .savepointRequested(let request, let name, let exists, let now):
            if let refused = refuseWhileStopping(request) { return refused }
            if let problem = SafeName.problem(name, describing: "savepoint") { return [.reply(request, .refused(.badRequest, problem))] }
            if exists { return [.reply(request, .refused(.conflict, "savepoint '\(name)' already exists"))] }
            waiting.append((.savepoint(name: name), request, nil))
            return coordinate(.trigger(.savepoint(name: name), now: now))
        case .stopRequested(let request, let name, let now):
            if let refused = refuseWhileStopping(request) { return refused }
            let trigger: CheckpointCoordinator.Trigger = name.map { .finalSavepoint(name: $0) } ?? .final
            waiting.append((trigger, request, nil))
            return [.log(.info, "stop requested through the admin API\(name.map { "; the final checkpoint becomes savepoint '\($0)'" } ?? "")")]
                + enter(.stopping) + [.stopSource] + coordinate(.trigger(trigger, now: now))
        case .swapRequested(let request):
            if let refused = refuseWhileStopping(request) { return refused }
            guard swap == nil else { return [.reply(request, .refused(.conflict, "a sink swap is already under way"))] }
            guard topology.laneCount == 1 else {
                return [.reply(request, .refused(.conflict, "a sink swap needs parallelism 1 (this worker runs \(topology.laneCount) lanes); stop with a savepoint and start from it with the new sink instead"))]
            }
            swap = Swap(request: request)
            return [.validateSwap(request)]
        case .swapAccepted:
            guard swap?.stage == .validating else { return [] }
            swap?.stage = .opening
            return enter(.swapping)
        case .swapRejected(let refusal, let message):
            guard let pending = swap, pending.stage == .validating else { return [] }
            swap = nil
            return [.reply(pending.request, .refused(refusal, message))]
        case .swapOpened(let now):
            guard swap?.stage == .opening else { return [.discardNewSink] }
            swap?.stage = .opened
            return [.log(.info, "the new sink is open; switching to it at the next checkpoint"), .pauseSink]
                + coordinate(.trigger(.manual, now: now))
        case .swapOpenFailed(let message):
            guard let pending = swap else { return [] }
            swap = nil
            return [.log(.error, "the new sink failed to open (\(message)); nothing changed, the old sink goes on")]
                + enter(.running)
                + [.reply(pending.request, .refused(.unprocessable, "the new sink failed to open: \(message); nothing changed, the old sink goes on"))]
        case .sinkPaused(let id, let at):
            guard swap != nil else { return [] }
            swap?.barrier = id
            swap?.pausedAt = at
            return id <= lastCompleted ? switchSink() : []
        case .sinkCommitted(let at):
            swap?.committedAt = at
            return []
        case .sinkSwapped(let at):
            guard let pending = swap, let barrier = pending.barrier else { return [] }
            swap = nil
            let paused = pending.pausedAt ?? at
            let timing = SwapTiming(barrier: barrier, pausedNanoseconds: at - paused,
                                    stallBeyondCommitNanoseconds: at - (pending.committedAt ?? paused))
            return enter(.running) + [.recordSwap(pending.request, timing)]
        case .swapRecorded(let plugin):
            coordinator.replacePlugin(ofOperator: topology.sink, with: plugin)
            return []
        case .swapRecordFailed(let reason):
            // Nothing the new sink staged is in a checkpoint yet: a restart resumes with the old
            // sink from the last checkpoint, which holds only committed epochs.
            return finish(.failed("recording the sink swap failed (\(reason)); restarting with the old sink"))
        }
    }

    // MARK: - The coordinator

    private mutating func coordinate(_ event: CheckpointCoordinator.Event, createdAtMilliseconds: Int64 = 0) -> [Action] {
        var actions: [Action] = []
        for action in coordinator.handle(event, createdAtMilliseconds: createdAtMilliseconds) {
            switch action {
            case .injectBarrier(let started):
                if let trigger = coordinator.inFlightTrigger {
                    for index in waiting.indices where waiting[index].checkpoint == nil && waiting[index].trigger == trigger {
                        waiting[index].checkpoint = started
                    }
                }
                actions.append(.injectBarrier(started))
            case .persist(let manifest):
                actions.append(.persist(manifest))
            case .prune:
                actions.append(.prune)
            case .notifyComplete(let completed):
                actions += completedCheckpoint(completed)
            case .notifyAborted(let id, let trigger, let reason):
                actions += abortedCheckpoint(id, trigger: trigger, reason: reason)
            }
        }
        return actions
    }

    private mutating func completedCheckpoint(_ completed: CheckpointCoordinator.CompletedCheckpoint) -> [Action] {
        let id = completed.id
        lastCompleted = id
        var actions: [Action] = [.notifyComplete(completed)]
        if swap?.barrier == id { actions += switchSink() }
        actions += answerWaiting(for: id, with: .checkpointCompleted(completed))
        if completed.trigger.isFinal { actions.append(.shutdownOperators) }
        return actions
    }

    private mutating func abortedCheckpoint(_ id: CheckpointID, trigger: CheckpointCoordinator.Trigger, reason: String) -> [Action] {
        var actions: [Action] = [.notifyAborted(id, reason: reason)]
        actions += answerWaiting(for: id, with: .refused(.unavailable, "the checkpoint was aborted: \(reason)"))
        if let pending = swap {
            if pending.barrier == id {
                // The sink paused on it: it goes on with its old plugin.
                swap = nil
                actions += [.resumeSink, .discardNewSink,
                            .reply(pending.request, .refused(.unavailable, "checkpoint \(id) was aborted (\(reason)); the sink was not swapped and the old one goes on"))]
                actions += enter(.running)
            } else if pending.stage == .opened && pending.barrier == nil {
                // The sink waits for a barrier that this checkpoint will not bring: ask again.
                actions += coordinate(.trigger(.manual, now: clock))
            }
        }
        if trigger.isFinal {
            actions += finish(.failed("the final checkpoint could not be completed (\(reason)); the next start resumes from the last complete checkpoint"))
        }
        return actions
    }

    private mutating func answerWaiting(for checkpoint: CheckpointID, with reply: Reply) -> [Action] {
        let answered = waiting.filter { $0.checkpoint == checkpoint }
        waiting.removeAll { $0.checkpoint == checkpoint }
        return answered.map { .reply($0.request, reply) }
    }

    // MARK: - Helpers

    private mutating func switchSink() -> [Action] {
        guard let pending = swap, pending.stage == .opened, !pending.switching else { return [] }
        swap?.switching = true
        return [.switchSink]
    }

    private func refuseWhileStopping(_ request: RequestID) -> [Action]? {
        isStopping ? [.reply(request, .refused(.unavailable, "the pipeline is stopping"))] : nil
    }

    private mutating func enter(_ next: Phase) -> [Action] {
        guard phase != next else { return [] }
        // A stop outranks everything: once stopping, the phase stays.
        if phase == .stopping { return [] }
        phase = next
        return [.phaseChanged(next)]
    }

    private mutating func finish(_ result: Outcome) -> [Action] {
        outcome = result
        return [.finish(result)]
    }
}

extension WorkerStateMachine.Event {
    /// The time the event carries, if any.
    var now: UInt64? {
        switch self {
        case .tick(let now), .persisted(_, let now), .sourceEnded(let now), .stopSignal(_, let now), .savepointSignal(_, let now),
             .checkpointRequested(_, let now), .savepointRequested(_, _, _, let now), .stopRequested(_, _, let now), .swapOpened(let now):
            return now
        case .sinkPaused(_, let at), .sinkCommitted(let at), .sinkSwapped(let at):
            return at
        default:
            return nil
        }
    }
}
