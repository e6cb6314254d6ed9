import SluiceCore
// MARK: - Pruning

extension CheckpointStore {
    /// Deletes old checkpoints, keeping the newest `newest` valid ones, and returns the
    /// deleted locations. Any thread may call this.
    ///
    /// Invalid checkpoints older than the newest kept valid one are deleted too, since they
    /// can never be restored from; invalid ones newer than that are kept as evidence of a
    /// recent failure (with nothing kept, every invalid object counts as newer). Savepoints are
    /// never touched. Temp files left by crashed writers are removed from both folders.
    ///
    /// Deletes oldest first, so a crash part-way leaves the newest checkpoints in place.
    ///
    /// - Throws: ``CheckpointStoreError`` when `newest` is negative or an object cannot be
    ///   deleted; objects deleted before the failure stay deleted.
    @discardableResult
    public func prune(retaining newest: Int) throws -> [String] {
        guard newest >= 0 else {
            throw CheckpointStoreError(message: "cannot retain \(newest) checkpoints; the count must be zero or more")
        }
        var deleted = try storage.removeLeftovers(folder: Self.checkpointsFolder)
        deleted += try storage.removeLeftovers(folder: Self.savepointsFolder)

        var kept = 0
        var doomed: [String] = []
        for file in try checkpointFiles() {
            let isValid = loadCheckpoint(id: file.id, object: file.object).manifest != nil
            // Objects are visited newest first, so `kept > 0` means a newer valid one is kept.
            let keep = isValid ? kept < newest : kept == 0
            if keep {
                if isValid { kept += 1 }
                continue
            }
            doomed.append(Self.checkpointsFolder + "/" + file.object.name)
        }
        var removed: [String] = []
        for key in doomed.reversed() {
            do {
                try storage.remove(key)
            } catch let error as CheckpointStoreError {
                throw CheckpointStoreError(message: "\(error.message); pruning stopped after deleting \(deleted.count + removed.count) objects.")
            }
            removed.append(locate(key))
        }
        // Reported newest first, as listed.
        return deleted + removed.reversed()
    }
}
