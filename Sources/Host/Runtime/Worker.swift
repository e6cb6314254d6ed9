import Foundation
import SluiceCore

/// Runs one pipeline in this process: restores the newest valid checkpoint (or a named
/// savepoint), starts one thread per operator with bounded queues between them, and drives
/// the checkpoint coordinator until the stream ends or a graceful stop completes.
///
/// `run()` is called on the main thread, which becomes the coordinator thread.
final class Worker {
    enum Outcome {
        /// Stopped after a final checkpoint (end of stream or SIGTERM).
        case finished
        case failed(String)
    }

    private let plan: PipelinePlan
    private let store: CheckpointStore
    private let fromSavepoint: String?
    private let mailbox = CoordinatorMailbox()
    private var operators: [OperatorThread] = []
    private var coordinator: CheckpointCoordinator!
    private var spec: PipelineSpec { plan.spec }

    init(plan: PipelinePlan, fromSavepoint: String?) throws {
        self.plan = plan
        self.fromSavepoint = fromSavepoint
        store = try CheckpointStore(directory: plan.spec.checkpointing.directory)
    }

    // MARK: - Run

    func run() -> Outcome {
        let restored: CheckpointManifest?
        do { restored = try chooseRestorePoint() } catch { return .failed("\(error)") }
        if let restored {
            Log.info("restoring checkpoint \(restored.id) from \(store.directory)\(restored.kind == .checkpoint ? "" : " (savepoint)")")
        }
        coordinator = CheckpointCoordinator(
            configuration: .init(pipeline: spec.name,
                                 operators: spec.operators.enumerated().map { ($1.name, plan.plugins[$0].name) },
                                 intervalNanoseconds: spec.checkpointing.interval.map(nanoseconds),
                                 timeoutNanoseconds: nanoseconds(spec.checkpointing.timeout)),
            lastCheckpointID: store.highestCheckpointID())
        do { try buildOperators(restoring: restored) } catch { return .failed("\(error)") }
        installSignalHandlers()
        operators.forEach { $0.start() }
        return coordinate()
    }

    /// The explicit savepoint, else the newest valid checkpoint or savepoint. Newer corrupt
    /// checkpoints are reported and skipped.
    private func chooseRestorePoint() throws -> CheckpointManifest? {
        if let name = fromSavepoint {
            let savepoint = try store.savepoint(named: name)
            try abandonCheckpoints(newerThan: savepoint.id)
            return savepoint
        }
        var newest: CheckpointManifest?
        for entry in store.entries() {
            switch entry.status {
            case .valid(let manifest):
                if manifest.id > (newest?.id ?? 0) { newest = manifest }
            case .invalid(let reason):
                if entry.kind == .checkpoint, let id = entry.id, id > (newest?.id ?? 0) {
                    Log.warn("checkpoint file \(entry.path) is unusable (\(reason)); skipping it in favour of an older checkpoint")
                }
            }
        }
        if let newest, newest.pipeline != spec.name {
            throw PlanError(messages: ["checkpoint \(newest.id) in \(store.directory) belongs to pipeline '\(newest.pipeline)', not '\(spec.name)'; give this pipeline its own checkpointing.directory"])
        }
        return newest
    }

    /// Restoring an older savepoint starts a new history: checkpoints after it are moved
    /// aside so a crash cannot resume from the abandoned one.
    private func abandonCheckpoints(newerThan id: UInt64) throws {
        let newer = store.entries().filter { $0.kind == .checkpoint && ($0.id ?? 0) > id }
        guard !newer.isEmpty else { return }
        let aside = store.directory + "/abandoned-\(wallClockMilliseconds())"
        try FileManager.default.createDirectory(atPath: aside, withIntermediateDirectories: true)
        for entry in newer {
            try FileManager.default.moveItem(atPath: entry.path, toPath: aside + "/" + (entry.path as NSString).lastPathComponent)
        }
        Log.warn("restoring an older savepoint: moved \(newer.count) newer checkpoint(s) to \(aside)")
    }

    private func buildOperators(restoring manifest: CheckpointManifest?) throws {
        let capacity = spec.queueCapacity
        let inboxes = spec.operators.map { _ in OperatorInbox(capacity: capacity) }
        let mainCount = 2 + spec.transforms.count  // source, transforms, sink
        let deadLetterInbox = spec.deadLetter == nil ? nil : inboxes[mainCount]
        if let manifest {
            let known = Set(spec.operators.map(\.name))
            for snapshot in manifest.operators where !known.contains(snapshot.operatorName) {
                Log.warn("checkpoint \(manifest.id) has state for operator '\(snapshot.operatorName)', which this pipeline no longer has; ignoring it")
            }
        }
        for (index, op) in spec.operators.enumerated() {
            let role: OperatorThread.Role
            switch op.role {
            case .source: role = .source
            case .transform: role = .transform
            case .sink: role = .sink
            case .deadLetter: role = .deadLetterSink
            }
            let state = manifest?.operators.first { $0.operatorName == op.name }
            let setup = OperatorSetup(index: index, spec: op, plugin: plan.plugins[index],
                                      stateDirectory: try store.operatorStateDirectory(for: op.name),
                                      restore: manifest.flatMap { m in state.map { (m.id, $0.state) } })
            operators.append(OperatorThread(
                setup: setup, role: role, inbox: inboxes[index],
                downstream: index + 1 < mainCount ? inboxes[index + 1] : nil,
                deadLetters: role == .sink ? deadLetterInbox : nil,
                mailbox: mailbox, hasDeadLetterOutput: spec.deadLetter != nil,
                deliveryMode: spec.checkpointing.mode, pipelineName: spec.name))
        }
    }

    // MARK: - Coordination

    private func coordinate() -> Outcome {
        var ready = 0, stopped = 0
        var stopping = false
        var runningSince = monotonicNanoseconds()
        let tick: UInt64 = min(50_000_000, (spec.checkpointing.interval.map(nanoseconds) ?? 50_000_000) / 4)
        while true {
            for event in mailbox.take(timeoutNanoseconds: max(tick, 1_000_000)) {
                let now = monotonicNanoseconds()
                switch event {
                case .ready:
                    ready += 1
                    if ready == operators.count {
                        runningSince = monotonicNanoseconds()
                        Log.info("pipeline '\(spec.name)' running: \(describeChain())")
                    }
                case .acknowledged(let id, let index, let state, let rows):
                    perform(coordinator.handle(.acknowledged(id: id, operatorIndex: index, state: state, rows: rows),
                                               createdAtMilliseconds: wallClockMilliseconds()))
                case .failed(let index, let error):
                    return .failed("operator '\(spec.operators[index].name)' failed: \(error)")
                case .sourceEnded:
                    let seconds = Double(now - runningSince) / 1e9
                    let (rows, batches) = operators[0].emitted
                    Log.info("source reached the end of its stream after \(rows) rows in \(batches) batches in \(String(format: "%.3f", seconds)) s (\(Int(Double(rows) / seconds)) rows/s, \(Int(Double(batches) / seconds)) batches/s); taking a final checkpoint")
                    stopping = true
                    perform(coordinator.handle(.trigger(.final, now: now)))
                case .stopRequested(let signal):
                    guard !stopping else { continue }
                    stopping = true
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
                        let rows = operators.map { "\($0.setup.spec.name) \($0.emitted.rows)" }.joined(separator: ", ")
                        Log.info("ran for \(String(format: "%.3f", seconds)) s; rows per operator: \(rows)")
                        return .finished
                    }
                }
                if case .failed = outcomeOfActions { return outcomeOfActions }
            }
            perform(coordinator.handle(.tick(now: monotonicNanoseconds())))
            if case .failed = outcomeOfActions { return outcomeOfActions }
        }
    }

    private var outcomeOfActions: Outcome = .finished

    private func perform(_ actions: [CheckpointCoordinator.Action]) {
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
                operators.forEach { $0.inbox.send(.notifyComplete(completed.id)) }
                Log.info(describe(completed))
                if completed.trigger == .final { operators.forEach { $0.inbox.send(.shutdown) } }
            case .notifyAborted(let id, let trigger, let reason):
                Log.warn("checkpoint \(id) aborted: \(reason)")
                operators.forEach { $0.inbox.send(.notifyAborted(id)) }
                if trigger == .final {
                    outcomeOfActions = .failed("the final checkpoint could not be completed (\(reason)); the next start resumes from the last complete checkpoint")
                }
            case .prune:
                do { try store.prune(retaining: spec.checkpointing.retained) } catch { Log.warn("could not delete old checkpoints: \(error)") }
            }
        }
    }

    // MARK: - Descriptions

    private func describe(_ c: CheckpointCoordinator.CompletedCheckpoint) -> String {
        let what: String
        switch c.trigger {
        case .savepoint(let name): what = "savepoint '\(name)' (checkpoint \(c.id))"
        case .final: what = "final checkpoint \(c.id)"
        default: what = "checkpoint \(c.id)"
        }
        let ms = String(format: "%.1f", Double(c.durationNanoseconds) / 1e6)
        var parts = ["source emitted \(c.rows[0]) rows"]
        let sinkIndex = 1 + spec.transforms.count
        parts.append("sink committed \(c.rows[sinkIndex]) rows")
        if spec.deadLetter != nil { parts.append("\(c.rows[sinkIndex + 1]) dead letters") }
        return "\(what) complete in \(ms) ms (\(c.stateBytes) bytes of state): \(parts.joined(separator: ", "))"
    }

    private func describeChain() -> String {
        spec.operators.enumerated().map { "\($1.name) [\(plan.plugins[$0].name) \(plan.plugins[$0].version)]" }.joined(separator: " -> ")
    }

    // MARK: - Signals

    private var signalSources: [DispatchSourceSignal] = []

    private func installSignalHandlers() {
        for sig in [SIGTERM, SIGINT, SIGUSR1] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [mailbox] in
                mailbox.post(sig == SIGUSR1 ? .savepointRequested : .stopRequested(signal: sig))
            }
            source.resume()
            signalSources.append(source)
        }
    }
}

/// UTC time as 20261126T091502Z, for generated savepoint names.
private func savepointTimestamp() -> String {
    var now = time(nil)
    var t = tm()
    gmtime_r(&now, &t)
    return String(format: "%04d%02d%02dT%02d%02d%02dZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)
}

func nanoseconds(_ duration: Duration) -> UInt64 {
    let (seconds, attoseconds) = duration.components
    return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
}
