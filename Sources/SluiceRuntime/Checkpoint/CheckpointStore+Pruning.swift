import SluiceCore
import DurableFiles
// MARK: - Pruning

extension CheckpointStore {
    /// Deletes old checkpoints, keeping the newest `newest` valid ones, and returns the
    /// deleted paths. Any thread may call this.
    ///
    /// Invalid checkpoints older than the newest kept valid one are deleted too, since they
    /// can never be restored from; invalid ones newer than that are kept as evidence of a
    /// recent failure (with nothing kept, every invalid file counts as newer). Savepoints are
    /// never touched. Temp files left by crashed writers are removed from both directories.
    ///
    /// - Throws: ``CheckpointStoreError`` when `newest` is negative or a file cannot be
    ///   deleted; files deleted before the failure stay deleted.
    @discardableResult
    public func prune(retaining newest: Int) throws -> [String] {
        guard newest >= 0 else {
            throw CheckpointStoreError(message: "cannot retain \(newest) checkpoints; the count must be zero or more")
        }
        var deleted = try removeLeftoverTemporaryFiles(in: checkpointsDirectory)
        deleted += try removeLeftoverTemporaryFiles(in: savepointsDirectory)

        var kept = 0
        for file in checkpointFiles() {
            let isValid = loadCheckpoint(id: file.id, path: file.path).manifest != nil
            // Files are visited newest first, so `kept > 0` means a newer valid one is kept.
            let keep = isValid ? kept < newest : kept == 0
            if keep {
                if isValid { kept += 1 }
                continue
            }
            do {
                try DurableFile.remove(file.path)
            } catch let error as DurableFileError {
                throw CheckpointStoreError(message: "\(error.message). Check permissions in \(checkpointsDirectory); pruning stopped after deleting \(deleted.count) files.")
            }
            deleted.append(file.path)
        }
        return deleted
    }
}
