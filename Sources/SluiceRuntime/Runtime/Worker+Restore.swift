import Foundation
import SluiceCore

/// Choosing what to resume from.
extension Worker {
    /// What the worker starts from.
    enum RestorePoint {
        case fresh
        /// A checkpoint or savepoint this instance's layout wrote.
        case resume(CheckpointManifest)
        /// The savepoints of one name of every instance of another layout: what each operator
        /// takes from them, and the highest id among them.
        case rescale(RestorePlan, highestID: UInt64)

        var highestID: UInt64 {
            switch self {
            case .fresh: return 0
            case .resume(let manifest): return manifest.id
            case .rescale(_, let highestID): return highestID
            }
        }
    }

    /// The explicit savepoint (this instance's own, or a rescale from every old instance's),
    /// unless this instance already started from it and checkpointed since; or the savepoint
    /// of a start that has no checkpoint yet (see ``InstanceFolders/StartRecord``); else the
    /// newest valid checkpoint or savepoint. Newer corrupt checkpoints are reported
    /// and skipped. A checkpoint of another layout is refused: layouts change only through
    /// savepoints. So is resuming unasked from the savepoint of a stop: that instance was
    /// stopped on purpose, perhaps for a rescale that will read from the savepoint, and rows
    /// committed past it would then be read twice.
    func chooseRestorePoint(topology: PipelineTopology) throws -> RestorePoint {
        let record = InstanceFolders.readStartRecord(in: store)
        var startFrom: String?
        if let explicit = options.fromSavepoint {
            if let record, record.savepoint == explicit, record.checkpointed {
                Log.warn("this instance already started from savepoint '\(explicit)' and has checkpointed since: resuming from its newest checkpoint, not the savepoint (drop --from-savepoint to stop seeing this)")
            } else {
                startFrom = explicit
            }
        } else if let record, !record.checkpointed {
            Log.info("this instance started from savepoint '\(record.savepoint)' and has no checkpoint of its own since: starting from it again")
            startFrom = record.savepoint
        }
        if let name = startFrom {
            if let own = try? store.savepoint(named: name), own.layout == layout {
                try abandonCheckpoints(newerThan: own.id)
                try recordStart(from: name)
                return .resume(own)
            }
            return try rescale(from: name, topology: topology)
        }
        var newest: CheckpointManifest?
        for entry in try store.entries() {
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
        guard let newest else { return .fresh }
        if newest.layout == layout {
            if newest.epochsCommitted, case .savepoint(let name) = newest.kind {
                throw PlanError(messages: [
                    "this instance was stopped with savepoint '\(name)' (`sluice stop --savepoint \(name)`); it resumes from it only when asked, "
                        + "since a rescale may read from it too: start with --from-savepoint \(name)",
                ])
            }
            return .resume(newest)
        }
        throw PlanError(messages: [
            "the newest checkpoint in \(store.directory) (\(newest.id)) was written by \(newest.layout), but this run is \(layout). "
                + "A layout changes only through a savepoint of every instance: stop each instance of the old layout with "
                + "`sluice stop --savepoint NAME`, then start every instance of the new one with `--from-savepoint NAME`; "
                + "or run the old layout (\(newest.layout.shape), instances x parallelism) again",
        ])
    }

    /// Savepoint `name` of every old instance, checked; the marker makes a restart before the
    /// first checkpoint come back here. Checkpoints the old layout left in this instance's
    /// folder are moved aside, so nothing can resume from them.
    private func rescale(from name: String, topology: PipelineTopology) throws -> RestorePoint {
        let root = spec.checkpointing.directory
        let savepoints = try InstanceFolders.open(spec.checkpointing, pipeline: spec.name).savepoints(named: name)
        guard !savepoints.isEmpty else {
            throw PlanError(messages: ["no savepoint named \"\(name)\" in \(root) or any instance-* folder below it; take one with `sluice stop --savepoint \(name)` on every instance, or pick an existing name (`sluice checkpoints list DIR`)"])
        }
        // Checked before anything in the folder changes: a refused rescale leaves it as it was.
        let restorePlan = try RestorePlan.rescale(from: savepoints, name: name, topology: topology,
                                                  plugins: plan.plugins.map(\.name), pipeline: spec.name)
        try recordStart(from: name)
        try abandonCheckpoints(newerThan: 0)
        return .rescale(restorePlan, highestID: savepoints.map(\.id).max() ?? 0)
    }

    /// Remembers the savepoint this start comes from until the first checkpoint is durable.
    private func recordStart(from name: String) throws {
        let record = InstanceFolders.StartRecord(savepoint: name, checkpointed: false)
        try InstanceFolders.writeStartRecord(record, in: store)
        startRecordPending = record
    }

    /// Restoring an older savepoint starts a new history: checkpoints after it are moved
    /// aside so a crash cannot resume from the abandoned one.
    private func abandonCheckpoints(newerThan id: UInt64) throws {
        let newer = try store.checkpointFiles().filter { $0.id > id }
        guard !newer.isEmpty else { return }
        let aside = try store.moveAside(newer.map(\.object.name), folder: "abandoned-\(wallClockMilliseconds())")
        Log.warn(id == 0 ? "starting a new layout: moved \(newer.count) checkpoint(s) of the old one to \(aside)"
                         : "restoring an older savepoint: moved \(newer.count) newer checkpoint(s) to \(aside)")
    }

    /// What each operator restores from `point`.
    func makeRestorePlan(_ point: RestorePoint, topology: PipelineTopology) throws -> RestorePlan {
        let plugins = plan.plugins.map(\.name)
        let result: RestorePlan
        switch point {
        case .fresh:
            return .fresh(operatorCount: topology.operatorCount)
        case .resume(let manifest):
            Log.info("restoring checkpoint \(manifest.id) from \(store.directory)\(manifest.kind == .checkpoint ? "" : " (savepoint)")")
            result = try RestorePlan.resume(manifest, topology: topology, plugins: plugins)
        case .rescale(let restorePlan, _):
            result = restorePlan
        }
        result.warnings.forEach { Log.warn($0) }
        return result
    }
}
