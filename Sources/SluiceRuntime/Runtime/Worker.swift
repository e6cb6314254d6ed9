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
        /// Which instance of how many this process is.
        var instance = 0
        var instances = 1
    }

    var plan: PipelinePlan
    let options: Options
    let store: CheckpointStore
    let mailbox = CoordinatorMailbox()
    var operators: [OperatorThread] = []
    /// The worker's decisions; this class carries out its actions.
    var machine: WorkerStateMachine!
    var metrics: PipelineMetrics!
    /// Publish time to commit, fed by the sources and the completed checkpoints.
    let commitLatency = CommitLatency()
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
    /// The savepoint of a stop (`POST /stop` with a name), marked once every operator has
    /// stopped cleanly, which means every epoch it sealed was committed.
    var stopSavepoint: String?
    /// The savepoint this worker started from, until its first checkpoint is durable (set by
    /// `chooseRestorePoint`).
    var startRecordPending: InstanceFolders.StartRecord?
    /// Writes manifests, one at a time, off the coordinator thread.
    let persistQueue = DispatchQueue(label: "sluice.checkpoint-writer")
    let layout: PipelineLayout
    var spec: PipelineSpec { plan.spec }
    var topology: PipelineTopology { machine.topology }

    init(plan: PipelinePlan, options: Options) throws {
        self.plan = plan
        self.options = options
        layout = PipelineLayout(instance: options.instance, instances: options.instances, parallelism: plan.spec.parallelism)
        store = try InstanceFolders.open(plan.spec.checkpointing, pipeline: plan.spec.name).store(layout)
        sinkSlot = SinkStateSlot.read(store: store)
    }

    // MARK: - Run

    func run() -> Outcome {
        let restorePoint: RestorePoint
        let restorePlan: RestorePlan
        let highestID: UInt64
        let topology = PipelineTopology(spec, layout: layout)
        let source = plan.plugins[topology.source]
        if layout.laneCount > 1 && source.abiVersion & 0xFFFF < 2 {
            // Built before lanes, it cannot know its share: every lane would read everything.
            return .misconfigured("source plugin '\(source.name)' \(source.version) was built against ABI \(source.abiVersionString), which has no lanes, so it cannot take a share of its input; run it with one instance and parallelism 1, or rebuild it against ABI 1.2 and read sluice_host_api.lane")
        }
        do {
            plan = try SinkOverride.apply(to: plan, store: store, searchPath: options.searchPath)
            restorePoint = try chooseRestorePoint(topology: topology)
            restorePlan = try makeRestorePlan(restorePoint, topology: topology)
            highestID = try store.highestCheckpointID()
        } catch let error as RestoreProblem {
            return .misconfigured(error.description)
        } catch let error as PlanError {
            return .misconfigured("\(error)")
        } catch { return .failed("\(error)") }
        if layout != .single { Log.info("this is \(layout)") }
        let coordinator = CheckpointCoordinator(
            configuration: .init(pipeline: spec.name,
                                 operators: (0..<topology.operatorCount).map {
                                     (topology.checkpointName(of: $0), plan.plugins[topology.position(of: $0)].name)
                                 },
                                 intervalNanoseconds: spec.checkpointing.interval.map(nanoseconds),
                                 timeoutNanoseconds: nanoseconds(spec.checkpointing.timeout),
                                 layout: layout),
            lastCheckpointID: CheckpointID(max(highestID, restorePoint.highestID)))
        var restoredID: CheckpointID?
        if case .resume(let manifest) = restorePoint { restoredID = CheckpointID(manifest.id) }
        machine = WorkerStateMachine(topology: topology, coordinator: coordinator, restored: restoredID)
        metrics = PipelineMetrics(pipeline: spec.name, restarts: options.restarts)
        do {
            try buildOperators(restoring: restorePlan)
            try startAdmin()
        } catch { return .failed("\(error)") }
        operators.forEach { $0.start() }
        let outcome = coordinate()
        admin?.stop()
        // Retention after the last checkpoint runs on the writer's queue: done before the exit.
        persistQueue.sync {}
        return outcome
    }

    /// Every lane's chain: operator `index` of the topology runs chain position
    /// `topology.position(of: index)` in lane `topology.lane(of: index)`.
    private func buildOperators(restoring restorePlan: RestorePlan) throws {
        let capacity = spec.queueCapacity
        let chain = spec.operators
        let inboxes = (0..<topology.operatorCount).map { _ in OperatorInbox(capacity: capacity) }
        for index in 0..<topology.operatorCount {
            let position = topology.position(of: index), op = chain[position], plugin = plan.plugins[position]
            let role: OperatorThread.Role
            switch op.role {
            case .source: role = .source
            case .transform: role = .transform
            case .sink: role = .sink
            case .deadLetter: role = .deadLetterSink
            }
            let lane = topology.globalLane(of: index)
            let folder = operatorFolder(op, plugin, lane: lane)
            var setup = OperatorSetup(index: index, spec: op, plugin: plugin,
                                      stateDirectory: try store.operatorStateDirectory(for: folder),
                                      openStaging: { [store] in try store.stagingArea(for: folder) },
                                      restore: restorePlan.states[index])
            setup.lane = LaneAssignment(index: lane, count: layout.laneCount)
            operators.append(OperatorThread(
                setup: setup, role: role, inbox: inboxes[index],
                deadLetters: role == .sink ? topology.deadLetterSink(of: index).map { inboxes[$0] } : nil,
                mailbox: mailbox, hasDeadLetterOutput: spec.deadLetter != nil,
                deliveryMode: spec.checkpointing.mode, pipelineName: spec.name))
            if role == .source { operators[index].commitLatency = commitLatency }
        }
        for index in 0..<topology.operatorCount {
            guard let next = topology.downstream(of: index) else { continue }
            if spec.chainTransforms && operators[next].role == .transform {
                operators[index].chain(operators[next])
            } else {
                operators[index].connect(to: operators[next])
            }
        }
    }

    /// Each operator's private folder, per plugin and lane: a swapped-in sink never sees the
    /// files of the plugin before it, and lanes never share one. The main sink's folder
    /// alternates between two slots (the second ends in `.b`) at each swap, since the new sink
    /// opens while the old one still stages its last epoch, and both may be the same plugin.
    /// Lane 0 of a single-lane pipeline keeps the folder name it had before lanes existed.
    func operatorFolder(_ op: OperatorSpec, _ plugin: LoadedPlugin, lane: Int, sinkSlot: SinkStateSlot? = nil) -> String {
        let safePlugin = SafeName.sanitized(plugin.name)
        let slot = op.role == .sink ? (sinkSlot ?? self.sinkSlot) : .a
        let laneSuffix = layout.laneCount == 1 ? "" : ".lane\(lane)"
        return "\(op.name).\(safePlugin)\(laneSuffix)\(slot.suffix)"
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
            let emitted = topology.sources.map { operators[$0].counters }.reduce(into: OperatorCounters()) {
                $0.rowsOut += $1.rowsOut
                $0.batchesIn += $1.batchesIn
            }
            let lanes = topology.laneCount == 1 ? "" : " (\(topology.laneCount) lanes; the final checkpoint waits for every lane's source)"
            Log.info("source reached the end of its stream after \(emitted.rowsOut) rows in \(emitted.batchesIn) batches in \(String(format: "%.3f", seconds)) s (\(Int(Double(emitted.rowsOut) / seconds)) rows/s, \(Int(Double(emitted.batchesIn) / seconds)) batches/s)\(lanes); taking a final checkpoint")
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
        case .persistFinished(let id, let failure):
            if let failure {
                apply(.persistFailed(CheckpointID(id), reason: failure))
            } else {
                // The start record, if any, was marked with this checkpoint.
                startRecordPending = nil
                apply(.persisted(CheckpointID(id), now: monotonicNanoseconds()))
            }
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
            for source in topology.sources { operators[source].send(.injectBarrier(id.rawValue)) }
        case .persist(let manifest):
            // Written on a thread of its own: an object store that is slow or away must not
            // stall the coordinator (barriers, acknowledgements, the admin API). The machine
            // starts nothing new while a manifest is being written.
            let record = startRecordPending.map { InstanceFolders.StartRecord(savepoint: $0.savepoint, checkpointed: true) }
            persistQueue.async { [store, mailbox] in
                var failure: String?
                do {
                    try store.write(manifest)
                    if let record { try InstanceFolders.writeStartRecord(record, in: store) }
                } catch {
                    failure = "\(error)"
                }
                mailbox.post(.persistFinished(checkpoint: manifest.id, failure: failure))
            }

        case .notifyComplete(let completed):
            checkpointCompleted(completed)
        case .notifyAborted(let id, let reason):
            Log.warn("checkpoint \(id) aborted: \(reason)")
            metrics.checkpointAborted()
            status.update { $0.checkpointsAborted += 1 }
            operators.forEach { $0.send(.notifyAborted(id.rawValue)) }
        case .prune:
            // After the manifest on the same queue: slow deletes never hold the coordinator.
            persistQueue.async { [store, retained = spec.checkpointing.retained] in
                do { try store.prune(retaining: retained) } catch { Log.warn("could not delete old checkpoints: \(error)") }
            }
        case .stopSource:
            for source in topology.sources { operators[source].send(.stopReading) }
        case .shutdownOperators:
            operators.forEach { $0.send(.shutdown) }
        case .reply(let request, let reply):
            replies.removeValue(forKey: request)?(response(for: reply))
        case .validateSwap(let request):
            validateSwap(request)
        case .pauseSink:
            operators[topology.sink].send(.prepareSwap)
        case .switchSink:
            guard let newSink, let instance = newSink.instance else { return }
            operators[topology.sink].send(.swap(newSink.setup, instance))
        case .resumeSink:
            operators[topology.sink].send(.cancelSwap)
        case .discardNewSink:
            if let instance = newSink?.instance { Self.closeInBackground(instance) }
            newSink = nil
        case .recordSwap(let request, let timing):
            recordSwap(request, timing)
        case .finish(var outcome):
            if outcome == .finished, let name = stopSavepoint {
                // Every operator stopped cleanly after the savepoint: each sink's close
                // committed what it had sealed.
                do {
                    try store.markEpochsCommitted(savepoint: name)
                    Log.info("savepoint '\(name)' holds no uncommitted epoch: it can start another layout")
                } catch { outcome = .failed("\(error)") }
            }
            if outcome == .finished {
                let seconds = Double(monotonicNanoseconds() - runningSince) / 1e9
                let rows = operators.map { "\($0.setup.spec.name) \($0.role == .source ? $0.counters.rowsOut : $0.counters.rowsIn)" }.joined(separator: ", ")
                Log.info("ran for \(String(format: "%.3f", seconds)) s; rows per operator: \(rows)")
            }
            finished = outcome
        }
    }

    private func checkpointCompleted(_ completed: CheckpointCoordinator.CompletedCheckpoint) {
        operators.forEach { $0.send(.notifyComplete(completed.id.rawValue)) }
        commitLatency.committed(checkpoint: completed.id.rawValue, nowMilliseconds: wallClockMilliseconds())
        if case .finalSavepoint(let name) = completed.trigger { stopSavepoint = name }
        Log.info(describe(completed))
        let sinkRows = rows(completed, at: topology.sinks)
        let deadLetterRows = rows(completed, at: topology.deadLetterSinks)
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
        var parts = ["source emitted \(rows(c, at: topology.sources)) rows", "sink committed \(rows(c, at: topology.sinks)) rows"]
        if topology.hasDeadLetterSink { parts.append("\(rows(c, at: topology.deadLetterSinks)) dead letters") }
        if topology.laneCount > 1 { parts.append("over \(topology.laneCount) lanes") }
        return "\(what) complete in \(ms) ms (\(c.stateBytes) bytes of state): \(parts.joined(separator: ", "))"
    }

    /// Rows through the operators at `indices` (the same position of every lane).
    private func rows(_ c: CheckpointCoordinator.CompletedCheckpoint, at indices: [Int]) -> Int {
        indices.reduce(0) { $0 + c.rows[$1] }
    }

    func describeChain() -> String {
        let chain = spec.operators.enumerated().map { "\($1.name) [\(plan.plugins[$0].name) \(plan.plugins[$0].version)]" }.joined(separator: " -> ")
        let threads = spec.chainTransforms && !spec.transforms.isEmpty ? " (transforms on the source's thread)" : ""
        return layout == .single ? chain + threads : chain + threads + " in lanes \(layout.lanes.lowerBound)-\(layout.lanes.upperBound - 1) of \(layout.laneCount)"
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
