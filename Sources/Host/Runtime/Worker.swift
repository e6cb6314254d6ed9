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
    enum Outcome {
        /// Stopped after a final checkpoint (end of stream or SIGTERM).
        case finished
        case failed(String)
        /// Failed in a way a restart cannot fix (the configuration, or data the table cannot
        /// take): the worker exits with EX_CONFIG and the supervisor does not restart it.
        case misconfigured(String)
    }

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
    var coordinator: CheckpointCoordinator!
    var metrics: PipelineMetrics!
    let status = WorkerStatus()
    var admin: AdminHTTPServer?
    /// Admin requests waiting for a checkpoint, savepoint or stop to complete.
    var waitingForCheckpoint: [(trigger: CheckpointCoordinator.Trigger, reply: (AdminResponse) -> Void)] = []
    var swap: SinkSwap?
    var lastCompletedID: UInt64 = 0
    /// Which of its two state folders the main sink uses (see `stateDirectory`).
    var sinkSlot: SinkStateSlot
    var outcomeOfActions: Outcome?
    var spec: PipelineSpec { plan.spec }
    var sinkIndex: Int { 1 + spec.transforms.count }

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
            lastCompletedID = restored.id
        }
        coordinator = CheckpointCoordinator(
            configuration: .init(pipeline: spec.name,
                                 operators: spec.operators.enumerated().map { ($1.name, plan.plugins[$0].name) },
                                 intervalNanoseconds: spec.checkpointing.interval.map(nanoseconds),
                                 timeoutNanoseconds: nanoseconds(spec.checkpointing.timeout)),
            lastCheckpointID: store.highestCheckpointID())
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
        let mainCount = 2 + spec.transforms.count  // source, transforms, sink
        let deadLetterInbox = spec.deadLetter == nil ? nil : inboxes[mainCount]
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
                downstream: index + 1 < mainCount ? inboxes[index + 1] : nil,
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

    private func coordinate() -> Outcome {
        var ready = 0, stopped = 0
        var stopping = false
        var runningSince = monotonicNanoseconds()
        let progress = ProgressReporter(interval: spec.statusInterval)
        let tick: UInt64 = min(50_000_000, (spec.checkpointing.interval.map(nanoseconds) ?? 50_000_000) / 4)
        while true {
            // Signals caught by StopSignals since the last round, ahead of the other events.
            var events: [WorkerEvent] = []
            if let signal = StopSignals.takeStop() { events.append(.stopRequested(signal: signal)) }
            if StopSignals.takeSavepoint() { events.append(.savepointRequested) }
            for event in events + mailbox.take(timeoutNanoseconds: events.isEmpty ? max(tick, 1_000_000) : 0) {
                let now = monotonicNanoseconds()
                switch event {
                case .ready:
                    ready += 1
                    if ready == operators.count {
                        runningSince = monotonicNanoseconds()
                        status.update { $0.state = "running" }
                        Log.info("pipeline '\(spec.name)' running: \(describeChain())")
                    }
                case .acknowledged(let id, let index, let state, let rows):
                    perform(coordinator.handle(.acknowledged(id: id, operatorIndex: index, state: state, rows: rows),
                                               createdAtMilliseconds: wallClockMilliseconds()))
                case .declined(let id, let index, let reason):
                    perform(coordinator.handle(.declined(id: id, operatorIndex: index, reason: reason)))
                case .failed(let index, let error):
                    let reason = "operator '\(spec.operators[index].name)' failed: \(error)"
                    if let error = error as? OperatorError, error.isPermanent { return .misconfigured(reason) }
                    return .failed(reason)
                case .sourceEnded:
                    let seconds = Double(now - runningSince) / 1e9
                    let emitted = operators[0].counters
                    Log.info("source reached the end of its stream after \(emitted.rowsOut) rows in \(emitted.batchesIn) batches in \(String(format: "%.3f", seconds)) s (\(Int(Double(emitted.rowsOut) / seconds)) rows/s, \(Int(Double(emitted.batchesIn) / seconds)) batches/s); taking a final checkpoint")
                    stopping = true
                    status.update { $0.state = "stopping" }
                    perform(coordinator.handle(.trigger(.final, now: now)))
                case .stopRequested(let signal):
                    guard !stopping else { continue }
                    stopping = true
                    status.update { $0.state = "stopping" }
                    Log.info("received \(signal == SIGINT ? "SIGINT" : "SIGTERM"): stopping the source and taking a final checkpoint")
                    operators[0].inbox.send(.stopReading)
                    perform(coordinator.handle(.trigger(.final, now: now)))
                case .savepointRequested:
                    let name = "savepoint-" + savepointTimestamp()
                    Log.info("received SIGUSR1: taking savepoint '\(name)'")
                    perform(coordinator.handle(.trigger(.savepoint(name: name), now: now)))
                case .stopped:
                    stopped += 1
                    if stopped == operators.count {
                        let seconds = Double(now - runningSince) / 1e9
                        let rows = operators.map { "\($0.setup.spec.name) \($0.role == .source ? $0.counters.rowsOut : $0.counters.rowsIn)" }.joined(separator: ", ")
                        Log.info("ran for \(String(format: "%.3f", seconds)) s; rows per operator: \(rows)")
                        return .finished
                    }
                case .sinkPaused(let id, let at):
                    sinkPaused(at: id, time: at)
                case .sinkCommitted(let at):
                    swap?.committedAt = at
                case .swapPrepared(let result):
                    swapPrepared(result, now: now)
                case .sinkSwapped(let at):
                    sinkSwapped(at: at)
                case .admin(let command):
                    if stopping {
                        command.reply(.error(.serviceUnavailable, "the pipeline is stopping"))
                    } else {
                        if case .stop = command { stopping = true }
                        handle(command, now: now)
                    }
                }
                if let outcome = outcomeOfActions { return outcome }
            }
            perform(coordinator.handle(.tick(now: monotonicNanoseconds())))
            if let outcome = outcomeOfActions { return outcome }
            if ready == operators.count { progress.report(self) }
        }
    }

    func perform(_ actions: [CheckpointCoordinator.Action]) {
        for action in actions {
            switch action {
            case .injectBarrier(let id):
                operators[0].inbox.send(.injectBarrier(id))
            case .persist(let manifest):
                do {
                    try store.write(manifest)
                    perform(coordinator.handle(.persisted(id: manifest.id, now: monotonicNanoseconds())))
                } catch {
                    perform(coordinator.handle(.persistFailed(id: manifest.id, reason: "\(error)")))
                }
            case .notifyComplete(let completed):
                checkpointCompleted(completed)
            case .notifyAborted(let id, let trigger, let reason):
                checkpointAborted(id: id, trigger: trigger, reason: reason)
            case .prune:
                do { try store.prune(retaining: spec.checkpointing.retained) } catch { Log.warn("could not delete old checkpoints: \(error)") }
            }
        }
    }

    private func checkpointCompleted(_ completed: CheckpointCoordinator.CompletedCheckpoint) {
        operators.forEach { $0.inbox.send(.notifyComplete(completed.id)) }
        lastCompletedID = completed.id
        Log.info(describe(completed))
        let deadLetterRows = spec.deadLetter == nil ? 0 : completed.rows[sinkIndex + 1]
        metrics.checkpointCompleted(id: completed.id, durationNanoseconds: completed.durationNanoseconds,
                                    stateBytes: completed.stateBytes, sinkRows: completed.rows[sinkIndex], deadLetterRows: deadLetterRows)
        status.update {
            $0.lastCheckpoint = ["id": completed.id, "duration_ms": Double(completed.durationNanoseconds) / 1e6,
                                 "size_bytes": completed.stateBytes, "completed_at_ms": wallClockMilliseconds()]
            $0.checkpointsCompleted += 1
            $0.rowsCommitted += completed.rows[sinkIndex]
            $0.deadLettersCommitted += deadLetterRows
        }
        if swap?.barrier == completed.id { sendSwap() }
        answerWaiting(for: completed)
        if completed.trigger.isFinal { operators.forEach { $0.inbox.send(.shutdown) } }
    }

    private func checkpointAborted(id: UInt64, trigger: CheckpointCoordinator.Trigger, reason: String) {
        Log.warn("checkpoint \(id) aborted: \(reason)")
        metrics.checkpointAborted()
        status.update { $0.checkpointsAborted += 1 }
        operators.forEach { $0.inbox.send(.notifyAborted(id)) }
        answerWaiting(abortedTrigger: trigger, reason: reason)
        swapCheckpointAborted(id: id, reason: reason)
        if trigger.isFinal {
            outcomeOfActions = .failed("the final checkpoint could not be completed (\(reason)); the next start resumes from the last complete checkpoint")
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
        var parts = ["source emitted \(c.rows[0]) rows", "sink committed \(c.rows[sinkIndex]) rows"]
        if spec.deadLetter != nil { parts.append("\(c.rows[sinkIndex + 1]) dead letters") }
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
