import SluiceCore
import DurableFiles
import Foundation

// MARK: - Reading

extension CheckpointStore {
    /// Every checkpoint and savepoint file, decoded: checkpoints first, newest id first, then
    /// savepoints by name. Temp files and foreign files are not listed. Any thread may call this.
    ///
    /// Reads and verifies every file, so it costs as much as the total state size; use
    /// ``newestValidCheckpoint()`` to find a restore point.
    public func entries() -> [CheckpointEntry] {
        checkpointFiles().map { loadCheckpoint(id: $0.id, path: $0.path) }
            + savepointFiles().map { loadSavepoint(path: $0.path) }
    }

    /// The newest checkpoint (by id, savepoints excluded) that decodes, with the newer files
    /// that did not in `skipped`, newest first, so the caller can report them loudly.
    /// `nil` when no checkpoint is valid. Any thread may call this.
    ///
    /// Stops reading at the first valid file, so older checkpoints cost nothing.
    public func newestValidCheckpoint() -> (manifest: CheckpointManifest, path: String, skipped: [CheckpointEntry])? {
        var skipped: [CheckpointEntry] = []
        for file in checkpointFiles() {
            let entry = loadCheckpoint(id: file.id, path: file.path)
            if let manifest = entry.manifest {
                return (manifest, entry.path, skipped)
            }
            skipped.append(entry)
        }
        return nil
    }

    /// The savepoint called `name`. Any thread may call this.
    ///
    /// - Throws: ``CheckpointStoreError`` when the name is invalid, no such savepoint exists
    ///   (the message lists the available ones) or its file is corrupt.
    public func savepoint(named name: String) throws -> CheckpointManifest {
        try Self.validateName(name, describing: "savepoint")
        let path = savepointPath(name: name)
        guard FileManager.default.fileExists(atPath: path) else {
            let available = savepointFiles().map(\.name)
            let listing = available.isEmpty ? "there are none" : "available: " + available.joined(separator: ", ")
            throw CheckpointStoreError(message: "no savepoint named \"\(name)\" in \(savepointsDirectory) (\(listing)); take one first or pick an existing name")
        }
        let entry = loadSavepoint(path: path)
        switch entry.status {
        case let .valid(manifest):
            return manifest
        case let .invalid(reason):
            throw CheckpointStoreError(message: "savepoint \"\(name)\" at \(path) cannot be used: \(reason). Restore from another savepoint or the latest checkpoint.")
        }
    }

    /// The largest id used so far: over checkpoint files (from the manifest, or from the
    /// file name when the file is invalid) and valid savepoints. An invalid savepoint has no
    /// trustworthy id and is left out. `0` for an empty store; the next checkpoint should use
    /// this plus one so ids never repeat. Any thread may call this.
    public func highestCheckpointID() -> UInt64 {
        // A valid checkpoint's manifest id equals its file name id (loading enforces it), so
        // checkpoint files need not be read.
        let checkpointMaximum = checkpointFiles().first?.id ?? 0
        let savepointMaximum = savepointFiles().compactMap { loadSavepoint(path: $0.path).manifest?.id }.max() ?? 0
        return max(checkpointMaximum, savepointMaximum)
    }

    // MARK: Listing

    /// Checkpoint files by the id in their names, newest first.
    func checkpointFiles() -> [(id: UInt64, path: String)] {
        Self.fileNames(in: checkpointsDirectory)
            .compactMap { name in Self.checkpointID(fromFileName: name).map { (id: $0, path: checkpointsDirectory + "/" + name) } }
            .sorted { $0.id > $1.id }
    }

    /// Savepoint files by name.
    func savepointFiles() -> [(name: String, path: String)] {
        Self.fileNames(in: savepointsDirectory)
            .compactMap { name in Self.savepointName(fromFileName: name).map { (name: $0, path: savepointsDirectory + "/" + name) } }
            .sorted { $0.name < $1.name }
    }

    // MARK: Loading

    /// Decodes a checkpoint file. The manifest's id must match the file name, because
    /// restore order is taken from names; a mismatch means the file was renamed by hand.
    func loadCheckpoint(id: UInt64, path: String) -> CheckpointEntry {
        load(path: path, kind: .checkpoint, fallbackID: id) { manifest in
            manifest.id == id ? nil : "file name says checkpoint \(id) but the file holds checkpoint \(manifest.id); rename it back or delete it"
        }
    }

    /// Decodes a savepoint file. Any valid manifest is accepted, so a savepoint file may be
    /// copied to a new name or a checkpoint file promoted to a savepoint by hand.
    func loadSavepoint(path: String) -> CheckpointEntry {
        load(path: path, kind: .savepoint, fallbackID: nil) { _ in nil }
    }

    /// Reads, decodes and checks one file; `inconsistency` returns a reason to reject a
    /// manifest that decoded fine.
    private func load(
        path: String,
        kind: CheckpointEntry.Kind,
        fallbackID: UInt64?,
        inconsistency: (CheckpointManifest) -> String?
    ) -> CheckpointEntry {
        var entry = CheckpointEntry(path: path, kind: kind, id: fallbackID, sizeBytes: 0, modified: Date(timeIntervalSince1970: 0), status: .invalid(reason: ""))
        do {
            (entry.sizeBytes, entry.modified) = try DurableFile.status(path)
            let manifest = try CheckpointCodec.decode(try DurableFile.read(path))
            if let reason = inconsistency(manifest) {
                entry.status = .invalid(reason: reason)
            } else {
                entry.id = manifest.id
                entry.status = .valid(manifest)
            }
        } catch {
            entry.status = .invalid(reason: String(describing: error))
        }
        return entry
    }
}
