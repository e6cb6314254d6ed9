import Foundation
import Glibc
import PluginABI

/// The checks that drive instances: lifecycle, data, checkpoints, leaks, ownership and threads.
extension ConformanceRunner {
    func checkLifecycle() -> CheckResult {
        var problems: [String] = []
        for round in 1...3 {
            let instance = makeInstance()
            let before = ResourceCount.now()
            let created = instance.create(configJSON)
            guard created.ok else {
                problems.append("round \(round): create failed with the configuration \(configLabel): \(created.failureText)")
                finish(instance)
                break
            }
            let after = ResourceCount.now()
            if after.sockets > before.sockets {
                problems.append("create opened \(after.sockets - before.sockets) socket(s); create must not connect anywhere (open does)")
            }
            let opened = instance.open()
            guard opened.ok else {
                problems.append("round \(round): open failed: \(opened.failureText) (are the services in the configuration running?)")
                finish(instance)
                break
            }
            let closed = instance.close()
            if !closed.ok { problems.append("round \(round): close failed: \(closed.failureText)") }
            finish(instance)
        }
        instancesWork = problems.isEmpty
        return .from("lifecycle", problems: problems)
    }

    func checkOpenFailure() -> CheckResult {
        guard let failing = failingConfigJSON else {
            return CheckResult(id: "open-failure", outcome: .skipped,
                               details: ["no --failing-config given (a configuration whose open fails, an unreachable address say)"])
        }
        let instance = makeInstance()
        let created = instance.create(failing)
        guard created.ok else {
            finish(instance)
            return CheckResult(id: "open-failure", outcome: .skipped, details: ["create refused the --failing-config: \(created.failureText); give one that fails in open"])
        }
        let opened = instance.open()
        if opened.ok {
            _ = instance.close()
            finish(instance)
            return CheckResult(id: "open-failure", outcome: .skipped, details: ["open succeeded with the --failing-config; give one that fails in open"])
        }
        var problems: [String] = []
        if opened.message.isEmpty { problems.append("open failed without a message; say what could not be reached and why") }
        finish(instance)  // a crash here is reported by the parent as a crash in this check
        return .from("open-failure", problems: problems, notes: ["open failed as expected: \(opened.message)"])
    }

    // MARK: - Data

    enum SourceStep { case batch(rows: [[[UInt8]?]]), end, failed(String) }

    /// The next batch of a source, waiting through SLUICE_NO_DATA for up to `patience` seconds;
    /// validates it, compares it with output_schema, releases it.
    func takeBatch(_ instance: CheckedInstance, number: Int, patience: Double = 10, problems: inout [String]) -> SourceStep {
        let deadline = Date().addingTimeInterval(patience)
        let schema = UnsafeMutablePointer<ArrowSchema>.allocate(capacity: 1)
        let array = UnsafeMutablePointer<ArrowArray>.allocate(capacity: 1)
        defer { schema.deallocate(); array.deallocate() }
        while true {
            schema.initialize(to: ArrowSchema())
            array.initialize(to: ArrowArray())
            let outcome = instance.next(schema: schema, array: array)
            switch outcome.status {
            case SLUICE_OK:
                guard schema.pointee.release != nil, array.pointee.release != nil else {
                    problems.append("batch \(number): source_next returned SLUICE_OK without moving a batch into both structs")
                    return .failed("no batch")
                }
                let rows = inspect(schema: schema, array: array, what: "batch \(number)", problems: &problems)
                return .batch(rows: rows)
            case SLUICE_NO_DATA:
                if schema.pointee.release != nil || array.pointee.release != nil {
                    problems.append("batch \(number): source_next returned SLUICE_NO_DATA but filled the output structs (they leak)")
                }
                if Date() > deadline { return .failed("no data for \(Int(patience)) s") }
            case SLUICE_END_OF_STREAM:
                return .end
            default:
                return .failed(outcome.failureText)
            }
        }
    }

    /// Validates a batch the plugin produced, compares it with output_schema, releases it, and
    /// returns its rows for comparisons.
    func inspect(schema: UnsafeMutablePointer<ArrowSchema>, array: UnsafeMutablePointer<ArrowArray>, what: String,
                 declaredColumns: [DeclaredColumn]? = nil, problems: inout [String]) -> [[[UInt8]?]] {
        let layoutProblems = ArrowValidation.batchProblems(schema: schema, array: array)
        problems += layoutProblems.map { "\(what): \($0)" }
        var rows: [[[UInt8]?]] = []
        if layoutProblems.isEmpty {
            if let expected = declaredColumns ?? declared {
                let mismatches = DeclaredColumn.mismatches(declared: expected, batch: DeclaredColumn.of(schema),
                                                           nullCounts: BatchContents.nullCounts(schema: schema, array: array))
                problems += mismatches.map { "\(what): \($0)" }
            }
            rows = BatchContents.rows(schema: schema, array: array)
        }
        ownershipProblems += releaseProduced(schema: schema, array: array, what: what)
        return rows
    }

    /// One step of data through an instance of any kind; returns a problem or nil.
    func feed(_ instance: CheckedInstance, shape: BatchShape, number: Int, problems: inout [String]) -> String? {
        switch plugin!.kind {
        case SLUICE_KIND_SOURCE:
            switch takeBatch(instance, number: number, problems: &problems) {
            case .batch: return nil
            case .end: return nil
            case .failed(let why): return "source_next: \(why)"
            }
        case SLUICE_KIND_TRANSFORM:
            let outSchema = UnsafeMutablePointer<ArrowSchema>.allocate(capacity: 1)
            let outArray = UnsafeMutablePointer<ArrowArray>.allocate(capacity: 1)
            defer { outSchema.deallocate(); outArray.deallocate() }
            outSchema.initialize(to: ArrowSchema())
            outArray.initialize(to: ArrowArray())
            let outcome = instance.process(shape, number: number, columns: options.inputColumns, outSchema: outSchema, outArray: outArray)
            guard outcome.ok else { return "transform_process refused input batch \(number) (\(shape.name)): \(outcome.failureText)" }
            guard outSchema.pointee.release != nil, outArray.pointee.release != nil else {
                return "transform_process returned SLUICE_OK for input batch \(number) without an output batch (an empty output is a batch of zero rows)"
            }
            _ = inspect(schema: outSchema, array: outArray, what: "the output for input batch \(number) (\(shape.name))", problems: &problems)
            return nil
        default:
            let outcome = instance.write(shape, number: number, columns: options.inputColumns)
            return outcome.ok ? nil : "sink_write refused input batch \(number) (\(shape.name)): \(outcome.failureText)"
        }
    }

    func checkData() -> CheckResult {
        guard instancesWork else { return CheckResult(id: "data", outcome: .skipped, details: ["the lifecycle check failed"]) }
        var problems: [String] = [], notes: [String] = []
        let instance = makeInstance()
        guard instance.create(configJSON).ok, instance.open().ok else {
            finish(instance)
            return .from("data", problems: ["create or open failed on a fourth try"])
        }
        if plugin!.kind == SLUICE_KIND_SOURCE {
            var batches = 0, rows = 0
            loop: while batches < options.sourceBatches {
                switch takeBatch(instance, number: batches + 1, problems: &problems) {
                case .batch(let columns): batches += 1; rows += columns.first?.count ?? 0
                case .end: notes.append("the source ended after \(batches) batches"); break loop
                case .failed(let why):
                    if why.hasPrefix("no data") {
                        // A stream that has nothing more to read is no fault; one that never
                        // gave anything cannot be checked.
                        guard batches > 0 else {
                            finish(instance)
                            return CheckResult(id: "data", outcome: .skipped, details: ["the source emitted no batch in 10 s; give it something to read"])
                        }
                        notes.append("no more data after \(batches) batches")
                        break loop
                    }
                    problems.append("batch \(batches + 1): \(why)")
                    break loop
                }
            }
            notes.append("checked \(batches) batches, \(rows) rows")
        } else {
            for (number, shape) in BatchShape.all.enumerated() {
                if let problem = feed(instance, shape: shape, number: number + 1, problems: &problems) { problems.append(problem) }
            }
            let (snapshot, _, bytesProblem) = instance.snapshot(1)
            if let bytesProblem { problems.append(bytesProblem) }
            if !snapshot.ok { problems.append("snapshot(1) after the batches failed: \(snapshot.failureText)") }
            else if !instance.complete(1).ok { problems.append("notify_checkpoint_complete(1) after the batches failed") }
            if instance.host.rejects > 0 { notes.append("rejected \(instance.host.rejects) rows through host->reject") }
        }
        let closed = instance.close()
        if !closed.ok { problems.append("close failed: \(closed.failureText)") }
        finish(instance)
        return .from("data", problems: Self.capped(problems), notes: notes)
    }

    // MARK: - Checkpoints

    func checkCheckpoints() -> CheckResult {
        guard instancesWork else { return CheckResult(id: "checkpoints", outcome: .skipped, details: ["the lifecycle check failed"]) }
        var problems: [String] = [], notes: [String] = []
        let hooks = plugin!.hooks
        if hooks.snapshot == nil { notes.append("no snapshot hook: the plugin keeps no state across restarts") }
        if plugin!.kind == SLUICE_KIND_SOURCE && hooks.snapshot != nil {
            if options.deterministic { compareAfterRestore(&problems, &notes) }
            else { notes.append("--nondeterministic: the output after a restore was not compared") }
        }

        // The orders the host uses: complete after snapshot; abort then a later complete; a
        // checkpoint never notified because a later one completed; an abort for a checkpoint
        // this instance never saw; a complete repeated; a complete again after a restore.
        var step = 0
        let first = makeInstance()
        guard first.create(configJSON).ok, first.open().ok else {
            finish(first)
            return .from("checkpoints", problems: ["create or open failed"])
        }
        var state14: [UInt8] = []
        let script: [(String, (CheckedInstance) -> String?)] = [
            ("data", { self.feed($0, shape: BatchShape.all[0], number: 101, problems: &problems) }),
            ("snapshot(11)", { self.snapshotProblem($0, 11, nil) }),
            ("notify_checkpoint_complete(11)", { $0.complete(11).okProblem("notify_checkpoint_complete(11)") }),
            ("data", { self.feed($0, shape: BatchShape.all[1], number: 102, problems: &problems) }),
            ("snapshot(12)", { self.snapshotProblem($0, 12, nil) }),
            ("notify_checkpoint_aborted(12)", { $0.abort(12); return nil }),
            ("data", { self.feed($0, shape: BatchShape.all[3], number: 103, problems: &problems) }),
            ("snapshot(13)", { self.snapshotProblem($0, 13, nil) }),
            ("data", { self.feed($0, shape: BatchShape.all[4], number: 104, problems: &problems) }),
            ("snapshot(14)", { self.snapshotProblem($0, 14, { state14 = $0 }) }),
            ("notify_checkpoint_complete(14) (13 never notified)", { $0.complete(14).okProblem("notify_checkpoint_complete(14) after snapshot(13) was never notified") }),
            ("notify_checkpoint_aborted(15) (never snapshotted)", { $0.abort(15); return nil }),
            ("notify_checkpoint_complete(14) again", { $0.complete(14).okProblem("a repeated notify_checkpoint_complete(14)") }),
        ]
        for (_, action) in script {
            step += 1
            if let problem = action(first) { problems.append("step \(step): \(problem)") }
        }
        _ = first.close()
        finish(first)

        let restored = makeInstance()
        if restored.create(configJSON).ok {
            let afterRestart: [(CheckedInstance) -> String?] = [
                { $0.restore(14, state: state14).okProblem("restore(14) with the state of snapshot(14)") },
                { $0.open().okProblem("open after restore(14)") },
                { $0.complete(14).okProblem("notify_checkpoint_complete(14) after restore(14) (the host re-commits the checkpoint it resumed from)") },
                { self.feed($0, shape: BatchShape.all[0], number: 105, problems: &problems) },
                { self.snapshotProblem($0, 16, nil) },
                { $0.complete(16).okProblem("notify_checkpoint_complete(16)") },
            ]
            for action in afterRestart {
                step += 1
                if let problem = action(restored) { problems.append("step \(step): \(problem)"); break }
            }
            _ = restored.close()
        } else {
            problems.append("create failed for the restored instance")
        }
        finish(restored)
        return .from("checkpoints", problems: problems, notes: notes)
    }

    func snapshotProblem(_ instance: CheckedInstance, _ checkpoint: UInt64, _ keep: (([UInt8]) -> Void)?) -> String? {
        let (outcome, state, problem) = instance.snapshot(checkpoint)
        if let problem { return problem }
        if !outcome.ok { return "snapshot(\(checkpoint)) failed: \(outcome.failureText)" }
        keep?(state ?? [])
        return nil
    }

    /// Snapshot, one more batch, then a fresh instance restored from the snapshot must emit the
    /// same batch.
    private func compareAfterRestore(_ problems: inout [String], _ notes: inout [String]) {
        let original = makeInstance()
        guard original.create(configJSON).ok, original.open().ok else {
            finish(original)
            problems.append("create or open failed")
            return
        }
        for n in 1...3 { if case .failed(let why) = takeBatch(original, number: n, problems: &problems) { problems.append("before the snapshot: \(why)"); break } }
        let (outcome, state, bytesProblem) = original.snapshot(1)
        if let bytesProblem { problems.append(bytesProblem) }
        guard outcome.ok, let state else {
            problems.append("snapshot(1) failed: \(outcome.failureText)")
            _ = original.close(); finish(original)
            return
        }
        let expected = takeBatch(original, number: 4, problems: &problems)
        _ = original.close()
        finish(original)
        guard case .batch(let expectedRows) = expected else {
            notes.append("the source had no batch after the snapshot, so restore was not compared")
            return
        }
        let restored = makeInstance()
        defer { _ = restored.close(); finish(restored) }
        guard restored.create(configJSON).ok else { problems.append("create failed for the restored instance"); return }
        let restoredOutcome = restored.restore(1, state: state)
        guard restoredOutcome.ok else { problems.append("restore(1) with the state snapshot(1) returned failed: \(restoredOutcome.failureText)"); return }
        guard restored.open().ok else { problems.append("open after restore(1) failed"); return }
        switch takeBatch(restored, number: 5, problems: &problems) {
        case .batch(let rows):
            if rows != expectedRows {
                problems.append("after restore(1) the first batch differs from the one emitted after snapshot(1) (\(Self.firstDifference(rows, expectedRows))); a restored source must resume exactly where the snapshot was taken (pass --nondeterministic if its data is not repeatable)")
            } else {
                notes.append("restored from \(state.count) bytes of state: the same next batch")
            }
        case .end: problems.append("after restore(1) the source ended, but the original emitted another batch")
        case .failed(let why): problems.append("after restore(1): \(why)")
        }
    }

    /// Where two batches' rows first differ, for the message.
    static func firstDifference(_ actual: [[[UInt8]?]], _ expected: [[[UInt8]?]]) -> String {
        guard actual.count == expected.count else { return "\(actual.count) columns, expected \(expected.count)" }
        for (column, (a, e)) in zip(actual, expected).enumerated() {
            guard a.count == e.count else { return "\(a.count) rows, expected \(e.count)" }
            if let row = Array(zip(a, e)).firstIndex(where: { $0 != $1 }) {
                func show(_ v: [UInt8]?) -> String { v.map { String(decoding: $0, as: UTF8.self).debugDescription + " (\($0.count) bytes)" } ?? "null" }
                return "column \(column), row \(row): \(show(a[row])) instead of \(show(e[row]))"
            }
        }
        return "same rows"
    }

    // MARK: - Leaks, ownership, threads

    func checkLeaks() -> CheckResult {
        guard instancesWork else { return CheckResult(id: "leaks", outcome: .skipped, details: ["the lifecycle check failed"]) }
        var problems: [String] = []
        let instance = makeInstance()
        guard instance.create(configJSON).ok, instance.open().ok else {
            finish(instance)
            return .from("leaks", problems: ["create or open failed"])
        }
        let shape = BatchShape(name: "1,000 rows", rows: 1000, nulls: true)
        var checkpoint: UInt64 = 1000
        // After 40 batches of warming up, the heap's floor (its least size before any batch)
        // in each of three windows of 60 batches. A leak raises the floor from window to
        // window. A buffer that another thread fills and the plugin drains (a source's receive
        // queue, whole entries of the broker at a time) swings the heap by up to its bound
        // from one batch to the next, and can stay up for dozens of batches: two single
        // samples, or the least of a few, looked like growth in both windows at times; the
        // floor over 60 batches sees the drained queue.
        let warmUp = 40, window = 60, batches = warmUp + 3 * window
        var floors = [Int](repeating: .max, count: 3)
        for i in 0..<batches {
            if i >= warmUp {
                let w = (i - warmUp) / window
                floors[w] = min(floors[w], MemoryProbe.heapInUse())
            }
            if let problem = feed(instance, shape: shape, number: 1000 + i, problems: &problems) {
                finish(instance)
                if plugin!.kind == SLUICE_KIND_SOURCE {
                    return CheckResult(id: "leaks", outcome: .skipped, details: ["the source gave fewer than \(batches) batches (\(problem))"])
                }
                return .from("leaks", problems: [problem])
            }
            // Checkpoints let buffering plugins (sinks staging an epoch, sources holding
            // unacknowledged ids) drop what they held.
            if i % 20 == 19 {
                checkpoint += 1
                _ = snapshotProblem(instance, checkpoint, nil)
                _ = instance.complete(checkpoint)
            }
        }
        _ = instance.close()
        finish(instance)
        let first = floors[1] - floors[0], second = floors[2] - floors[1]
        var notes = ["the heap's floor over three windows of \(window) batches rose by \(first / 1024) KiB, then \(second / 1024) KiB (glibc's count of bytes in use)"]
        if min(first, second) > window << 10 {
            problems.append("the heap's floor rose by \(first / 1024) KiB and again by \(second / 1024) KiB over three windows of \(window) batches (about \(min(first, second) / window) bytes a batch), with every batch released and a checkpoint every 20: something is allocated per batch and never freed")
            notes = []
        }
        return .from("leaks", problems: Self.capped(problems), notes: notes)
    }

    func checkOwnership() -> CheckResult {
        // Releases from the plugin's own threads may trail destroy; give them a moment.
        usleep(100_000)
        ownershipProblems += ReleaseLedger.shared.takeViolations()
        return .from("ownership", problems: Self.capped(ownershipProblems))
    }

    func checkThreads() -> CheckResult {
        for instance in instances { threadProblems += instance.host.takeViolations() }
        threadProblems += CheckHost.takeStrayCallbacks()
        return .from("threads", problems: Self.capped(threadProblems))
    }

    /// The first ten problems and a count of the rest: one broken rule repeats per batch.
    static func capped(_ problems: [String]) -> [String] {
        var unique: [String] = []
        for p in problems where !unique.contains(p) { unique.append(p) }
        guard unique.count > 10 else { return unique }
        return Array(unique.prefix(10)) + ["... and \(unique.count - 10) more"]
    }
}

extension CallOutcome {
    /// nil on success, else "<what> failed: <message>".
    func okProblem(_ what: String) -> String? { ok ? nil : "\(what) failed: \(failureText)" }
}
