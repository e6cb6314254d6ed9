import Foundation
import SluiceCore

/// Choosing what to resume from.
extension Worker {
    /// The explicit savepoint, else the newest valid checkpoint or savepoint. Newer corrupt
    /// checkpoints are reported and skipped.
    func chooseRestorePoint() throws -> CheckpointManifest? {
        if let name = options.fromSavepoint {
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
        if let newest {
            let known = Set(spec.operators.map(\.name))
            for snapshot in newest.operators where !known.contains(snapshot.operatorName) {
                Log.warn("checkpoint \(newest.id) has state for operator '\(snapshot.operatorName)', which this pipeline no longer has; ignoring it")
            }
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

    /// The state `manifest` holds for `op`, if it was taken with the same plugin.
    func restoredState(_ manifest: CheckpointManifest?, _ op: OperatorSpec, _ plugin: LoadedPlugin) -> (checkpoint: UInt64, state: [UInt8])? {
        guard let manifest, let snapshot = manifest.operators.first(where: { $0.operatorName == op.name }) else { return nil }
        guard snapshot.plugin == plugin.name else {
            Log.warn("checkpoint \(manifest.id) holds state of plugin '\(snapshot.plugin)' for operator '\(op.name)', which now runs '\(plugin.name)'; it starts without state")
            return nil
        }
        return (manifest.id, snapshot.state)
    }
}
