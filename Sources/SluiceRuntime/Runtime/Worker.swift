import Foundation
import SluiceCore

/// Runs one pipeline in this process: restores the newest valid checkpoint (or a named
/// savepoint), starts one thread per operator with bounded queues between them, serves the
/// admin API, and drives the checkpoint coordinator until the stream ends or a graceful stop
/// completes.
///
/// `run()` is called on the main thread, which becomes the coordinator thread; every method
/// that is not marked otherwise runs there.
final class Worker {
    typealias Outcome = WorkerStateMachine.Outcome

    struct Options {
        var fromSavepoint: String?
        /// Restarts so far, as the supervisor counts them.
        var restarts = 0
        /// Overrides the pipeline's admin address (the supervisor's internal one).
        var adminAddress: String?
        /// Where plugins named in swap requests are looked for.
        var searchPath = PluginSearchPath()
    }

    var plan: PipelinePlan
    let options: Options
    let store: CheckpointStore
    let mailbox = CoordinatorMailbox()
    var operators: [OperatorThread] = []
    /// The worker's decisions; this class carries out its actions.
    var machine: WorkerStateMachine!
    var metrics: PipelineMetrics!
    let status = WorkerStatus()
    var admin: AdminHTTPServer?
    /// Replies of admin requests the machine has not answered yet, by request id.
    var replies: [WorkerStateMachine.RequestID: (AdminResponse) -> Void] = [:]
    var nextRequestID = 0
    /// Swap requests waiting for `validateSwap`, by request id.
    var swapRequests: [WorkerStateMachine.RequestID: SinkSwapRequest] = [:]
    /// The sink a swap opens beside the running one.
    var newSink: NewSink?
    /// Which of its two state folders the main sink uses (see `stateDirectory`).
    var sinkSlot: SinkStateSlot
    var finished: Outcome?
    var runningSince = monotonicNanoseconds()
    var spec: PipelineSpec { plan.spec }
    var topology: PipelineTopology { machine.topology }

    init(plan: PipelinePlan, options: Options) throws {
        self.plan = plan
        self.options = options
        store = try CheckpointStore(directory: plan.spec.checkpointing.directory)
        sinkSlot = SinkStateSlot.read(store: store)
    }

    // MARK: - Run

    func run() -> Outcome {
        let restored: CheckpointManifest?
        do {
            restored = try chooseRestorePoint()
            plan = try SinkOverride.apply(to: plan, store: store, searchPath: options.searchPath)
        } catch { return .failed("\(error)") }
        if let restored {
            Log.info("restoring checkpoint \(restored.id) from \(store.directory)\(restored.kind == .checkpoint ? "" : " (savepoint)")")
        }
        let coordinator = CheckpointCoordinator(
            configuration: .init(pipeline: spec.name,
                                 operators: spec.operators.enumerated().map { ($1.name, plan.plugins[$0].name) },
                                 intervalNanoseconds: spec.checkpointing.interval.map(nanoseconds),
                                 timeoutNanoseconds: nanoseconds(spec.checkpointing.timeout)),
            lastCheckpointID: CheckpointID(store.highestCheckpointID()))
        machine = WorkerStateMachine(topology: PipelineTopology(spec), coordinator: coordinator, restored: restored.map { CheckpointID($0.id) })
        metrics = PipelineMetrics(pipeline: spec.name, restarts: options.restarts)
        do {
            try buildOperators(restoring: restored)
            try startAdmin()
        } catch { return .failed("\(error)") }
        operators.forEach { $0.start() }
        let outcome = coordinate()
        admin?.stop()
        return outcome
    }

    private func buildOperators(restoring manifest: CheckpointManifest?) throws {
        let capacity = spec.queueCapacity
        let inboxes = spec.operators.map { _ in OperatorInbox(capacity: capacity) }
        let deadLetterInbox = topology.deadLetterSink.map { inboxes[$0] }
        for (index, op) in spec.operators.enumerated() {
            let role: OperatorThread.Role
            switch op.role {
            case .source: role = .source
            case .transform: role = .transform
            case .sink: role = .sink
            case .deadLetter: role = .deadLetterSink
            }
            let setup = OperatorSetup(index: index, spec: op, plugin: plan.plugins[index],
                                      stateDirectory: try stateDirectory(op, plan.plugins[index]),
                                      restore: restoredState(manifest, op, plan.plugins[index]))
            operators.append(OperatorThread(
                setup: setup, role: role, inbox: inboxes[index],
                downstream: topology.downstream(of: index).map { inboxes[$0] },
                deadLetters: role == .sink ? deadLetterInbox : nil,
                mailbox: mailbox, hasDeadLetterOutput: spec.deadLetter != nil,
                deliveryMode: spec.checkpointing.mode, pipelineName: spec.name))
        }
    }

    /// Each operator's private folder, per plugin: a swapped-in sink never sees the files of the
    /// plugin before it. The main sink's folder alternates between two slots (the second ends
    /// in `.b`) at each swap, since the new sink opens while the old one still stages its last
    /// epoch, and both may be the same plugin.
    func stateDirectory(_ op: OperatorSpec, _ plugin: LoadedPlugin, sinkSlot: SinkStateSlot? = nil) throws -> String {
        let safePlugin = SafeName.sanitized(plugin.name)
        let slot = op.role == .sink ? (sinkSlot ?? self.sinkSlot) : .a
        return try store.operatorStateDirectory(for: "\(op.name).\(safePlugin)\(slot.suffix)")
    }

    // MARK: - Coordination

    /// Turns what the operator threads, signals and the admin API report into the machine's
    /// events, and carries out its actions, until it decides the outcome.
    private func coordinate() -> Outcome {
        let progress = ProgressReporter(interval: spec.statusInterval)
        let tick: UInt64 = min(50_000_000, (spec.checkpointing.interval.map(nanoseconds) ?? 50_000_000) / 4)
        while true {
            // Signals caught by StopSignals since the last round, ahead of the other events.
            var events: [WorkerEvent] = []
            if let signal = StopSignals.takeStop() { events.append(.stopRequested(signal: signal)) }
            if StopSignals.takeSavepoint() { events.append(.savepointRequested) }
            for event in events + mailbox.take(timeoutNanoseconds: events.isEmpty ? max(tick, 1_000_000) : 0) {
                handle(event, now: monotonicNanoseconds())
                if let finished { return finished }
            }
            apply(.tick(now: monotonicNanoseconds()))
            if let finished { return finished }
            if machine.isRunning { progress.report(self) }
        }
    }

    private func handle(_ event: WorkerEvent, now: UInt64) {
        switch event {
        case .ready(let index):
            apply(.operatorReady(index: index))
        case .acknowledged(let id, let index, let state, let rows):
            apply(.acknowledged(CheckpointID(id), operatorIndex: index, state: state, rows: rows, wallClockMilliseconds: wallClockMilliseconds()))
        case .declined(let id, let index, let reason):
            apply(.declined(CheckpointID(id), operatorIndex: index, reason: reason))
        case .failed(let index, let error):
            apply(.operatorFailed(index: index, message: "\(error)", permanent: (error as? OperatorError)?.isPermanent ?? false))
        case .sourceEnded:
            let seconds = Double(now - runningSince) / 1e9
            let emitted = operators[topology.source].counters
            Log.info("source reached the end of its stream after \(emitted.rowsOut) rows in \(emitted.batchesIn) batches in \(String(format: "%.3f", seconds)) s (\(Int(Double(emitted.rowsOut) / seconds)) rows/s, \(Int(Double(emitted.batchesIn) / seconds)) batches/s); taking a final checkpoint")
            apply(.sourceEnded(now: now))
        case .stopRequested(let signal):
            apply(.stopSignal(name: signal == SIGINT ? "SIGINT" : "SIGTERM", now: now))
        case .savepointRequested:
            apply(.savepointSignal(name: "savepoint-" + savepointTimestamp(), now: now))
        case .stopped(let index):
            apply(.operatorStopped(index: index))
        case .sinkPaused(let id, let at):
            apply(.sinkPaused(CheckpointID(id), at: at))
        case .sinkCommitted(let at):
            apply(.sinkCommitted(at: at))
        case .swapPrepared(let result):
            switch result {
            case .success(let instance):
                guard newSink != nil else { return Self.closeInBackground(instance) }
                newSink?.instance = instance
                apply(.swapOpened(now: now))
            case .failure(let error):
                newSink = nil
                apply(.swapOpenFailed("\(error)"))
            }
        case .sinkSwapped(let at):
            apply(.sinkSwapped(at: at))
        case .admin(let command):
            handle(command, now: now)
        }
    }

    func apply(_ event: WorkerStateMachine.Event) {
        for action in machine.handle(event) { carryOut(action) }
    }

    private func carryOut(_ action: WorkerStateMachine.Action) {
        switch action {
        case .log(let level, let message):
            switch level {
            case .info: Log.info(message)
            case .warn: Log.warn(message)
            case .error: Log.error(message)
            }
        case .phaseChanged(let phase):
            status.update { $0.state = phase.rawValue }
        case .announceRunning:
            runningSince = monotonicNanoseconds()
            Log.info("pipeline '\(spec.name)' running: \(describeChain())")
        case .injectBarrier(let id):
            operators[topology.source].inbox.send(.injectBarrier(id.rawValue))
        case .persist(let manifest):
            do {
                try store.write(manifest)
                apply(.persisted(CheckpointID(manifest.id), now: monotonicNanoseconds()))
            } catch {
                apply(.persistFailed(CheckpointID(manifest.id), reason: "\(error)"))
            }
        case .notifyComplete(let completed):
            checkpointCompleted(completed)
        case .notifyAborted(let id, let reason):
            Log.warn("checkpoint \(id) aborted: \(reason)")
            metrics.checkpointAborted()
            status.update { $0.checkpointsAborted += 1 }
            operators.forEach { $0.inbox.send(.notifyAborted(id.rawValue)) }
        case .prune:
            do { try store.prune(retaining: spec.checkpointing.retained) } catch { Log.warn("could not delete old checkpoints: \(error)") }
        case .stopSource:
            operators[topology.source].inbox.send(.stopReading)
        case .shutdownOperators:
            operators.forEach { $0.inbox.send(.shutdown) }
        case .reply(let request, let reply):
            replies.removeValue(forKey: request)?(response(for: reply))
        case .validateSwap(let request):
            validateSwap(request)
        case .pauseSink:
            operators[topology.sink].inbox.send(.prepareSwap)
        case .switchSink:
            guard let newSink, let instance = newSink.instance else { return }
            operators[topology.sink].inbox.send(.swap(newSink.setup, instance))
        case .resumeSink:
            operators[topology.sink].inbox.send(.cancelSwap)
        case .discardNewSink:
            if let instance = newSink?.instance { Self.closeInBackground(instance) }
            newSink = nil
        case .recordSwap(let request, let timing):
            recordSwap(request, timing)
        case .finish(let outcome):
            if outcome == .finished {
                let seconds = Double(monotonicNanoseconds() - runningSince) / 1e9
                let rows = operators.map { "\($0.setup.spec.name) \($0.role == .source ? $0.counters.rowsOut : $0.counters.rowsIn)" }.joined(separator: ", ")
                Log.info("ran for \(String(format: "%.3f", seconds)) s; rows per operator: \(rows)")
            }
            finished = outcome
        }
    }

    private func checkpointCompleted(_ completed: CheckpointCoordinator.CompletedCheckpoint) {
        operators.forEach { $0.inbox.send(.notifyComplete(completed.id.rawValue)) }
        Log.info(describe(completed))
        let sinkRows = completed.rows[topology.sink]
        let deadLetterRows = topology.deadLetterSink.map { completed.rows[$0] } ?? 0
        metrics.checkpointCompleted(id: completed.id.rawValue, durationNanoseconds: completed.durationNanoseconds,
                                    stateBytes: completed.stateBytes, sinkRows: sinkRows, deadLetterRows: deadLetterRows)
        status.update {
            $0.lastCheckpoint = ["id": completed.id.rawValue, "duration_ms": Double(completed.durationNanoseconds) / 1e6,
                                 "size_bytes": completed.stateBytes, "completed_at_ms": wallClockMilliseconds()]
            $0.checkpointsCompleted += 1
            $0.rowsCommitted += sinkRows
            $0.deadLettersCommitted += deadLetterRows
        }
    }

    // MARK: - Descriptions

    private func describe(_ c: CheckpointCoordinator.CompletedCheckpoint) -> String {
        let what: String
        switch c.trigger {
        case .savepoint(let name): what = "savepoint '\(name)' (checkpoint \(c.id))"
        case .finalSavepoint(let name): what = "final savepoint '\(name)' (checkpoint \(c.id))"
        case .final: what = "final checkpoint \(c.id)"
        default: what = "checkpoint \(c.id)"
        }
        let ms = String(format: "%.1f", Double(c.durationNanoseconds) / 1e6)
        var parts = ["source emitted \(c.rows[topology.source]) rows", "sink committed \(c.rows[topology.sink]) rows"]
        if let deadLetters = topology.deadLetterSink { parts.append("\(c.rows[deadLetters]) dead letters") }
        return "\(what) complete in \(ms) ms (\(c.stateBytes) bytes of state): \(parts.joined(separator: ", "))"
    }

    func describeChain() -> String {
        spec.operators.enumerated().map { "\($1.name) [\(plan.plugins[$0].name) \(plan.plugins[$0].version)]" }.joined(separator: " -> ")
    }

}

/// UTC time as 20261126T091502Z, for generated savepoint names.
func savepointTimestamp() -> String {
    var now = time(nil)
    var t = tm()
    gmtime_r(&now, &t)
    return String(format: "%04d%02d%02dT%02d%02d%02dZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)
}

func nanoseconds(_ duration: Duration) -> UInt64 {
    let (seconds, attoseconds) = duration.components
    return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
}
