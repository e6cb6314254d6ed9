import SluiceCore
import Foundation

// MARK: - Reading

extension CheckpointStore {
    /// Every checkpoint and savepoint, decoded: checkpoints first, newest id first, then
    /// savepoints by name. Temp files and foreign objects are not listed. Any thread may call this.
    ///
    /// Reads and verifies every object, so it costs as much as the total state size; use
    /// ``newestValidCheckpoint()`` to find a restore point.
    ///
    /// - Throws: ``CheckpointStoreError`` when the storage cannot be listed (an unreachable
    ///   store is never taken for an empty one).
    public func entries() throws -> [CheckpointEntry] {
        try checkpointFiles().map { loadCheckpoint(id: $0.id, object: $0.object) }
            + savepointFiles().map { loadSavepoint(object: $0.object) }
    }

    /// The newest checkpoint (by id, savepoints excluded) that decodes, with the newer objects
    /// that did not in `skipped`, newest first, so the caller can report them loudly.
    /// `nil` when no checkpoint is valid. Any thread may call this.
    ///
    /// Stops reading at the first valid object, so older checkpoints cost nothing.
    public func newestValidCheckpoint() throws -> (manifest: CheckpointManifest, path: String, skipped: [CheckpointEntry])? {
        var skipped: [CheckpointEntry] = []
        for file in try checkpointFiles() {
            let entry = loadCheckpoint(id: file.id, object: file.object)
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
    ///   (the message lists the available ones) or its object is corrupt.
    public func savepoint(named name: String) throws -> CheckpointManifest {
        try Self.validateName(name, describing: "savepoint")
        let files = try savepointFiles()
        guard let file = files.first(where: { $0.name == name }) else {
            let available = files.map(\.name)
            let listing = available.isEmpty ? "there are none" : "available: " + available.joined(separator: ", ")
            throw CheckpointStoreError(message: "no savepoint named \"\(name)\" in \(locate(Self.savepointsFolder)) (\(listing)); take one first or pick an existing name")
        }
        let entry = loadSavepoint(object: file.object)
        switch entry.status {
        case let .valid(manifest):
            return manifest
        case let .invalid(reason):
            throw CheckpointStoreError(message: "savepoint \"\(name)\" at \(entry.path) cannot be used: \(reason). Restore from another savepoint or the latest checkpoint.")
        }
    }

    /// Whether a savepoint of that name exists (valid or not).
    public func hasSavepoint(named name: String) throws -> Bool {
        try savepointFiles().contains { $0.name == name }
    }

    /// The largest id used so far: over checkpoint objects (from the manifest, or from the
    /// name when the object is invalid) and valid savepoints. An invalid savepoint has no
    /// trustworthy id and is left out. `0` for an empty store; the next checkpoint should use
    /// this plus one so ids never repeat. Any thread may call this.
    public func highestCheckpointID() throws -> UInt64 {
        // A valid checkpoint's manifest id equals its name's id (loading enforces it), so
        // checkpoint objects need not be read.
        let checkpointMaximum = try checkpointFiles().first?.id ?? 0
        let savepointMaximum = try savepointFiles().compactMap { loadSavepoint(object: $0.object).manifest?.id }.max() ?? 0
        return max(checkpointMaximum, savepointMaximum)
    }

    // MARK: Listing

    /// Checkpoint objects by the id in their names, newest first.
    func checkpointFiles() throws -> [(id: UInt64, object: StoredObject)] {
        try storage.list(folder: Self.checkpointsFolder)
            .compactMap { object in Self.checkpointID(fromFileName: object.name).map { (id: $0, object: object) } }
            .sorted { $0.id > $1.id }
    }

    /// Savepoint objects by name.
    func savepointFiles() throws -> [(name: String, object: StoredObject)] {
        try storage.list(folder: Self.savepointsFolder)
            .compactMap { object in Self.savepointName(fromFileName: object.name).map { (name: $0, object: object) } }
            .sorted { $0.name < $1.name }
    }

    // MARK: Loading

    /// Decodes a checkpoint object. The manifest's id must match the name, because restore
    /// order is taken from names; a mismatch means the object was renamed by hand.
    func loadCheckpoint(id: UInt64, object: StoredObject) -> CheckpointEntry {
        load(key: Self.checkpointsFolder + "/" + object.name, object: object, kind: .checkpoint, fallbackID: id) { manifest in
            manifest.id == id ? nil : "its name says checkpoint \(id) but it holds checkpoint \(manifest.id); rename it back or delete it"
        }
    }

    /// Decodes a savepoint object. Any valid manifest is accepted, so a savepoint may be
    /// copied to a new name or a checkpoint promoted to a savepoint by hand.
    func loadSavepoint(object: StoredObject) -> CheckpointEntry {
        load(key: Self.savepointsFolder + "/" + object.name, object: object, kind: .savepoint, fallbackID: nil) { _ in nil }
    }

    /// Reads, decodes and checks one object (its length and CRC32C are in the codec's frame);
    /// `inconsistency` returns a reason to reject a manifest that decoded fine.
    private func load(
        key: String,
        object: StoredObject,
        kind: CheckpointEntry.Kind,
        fallbackID: UInt64?,
        inconsistency: (CheckpointManifest) -> String?
    ) -> CheckpointEntry {
        var entry = CheckpointEntry(path: locate(key), kind: kind, id: fallbackID, sizeBytes: object.size, modified: object.modified,
                                    status: .invalid(reason: ""))
        do {
            guard let bytes = try storage.read(key) else {
                entry.status = .invalid(reason: "deleted while being read")
                return entry
            }
            entry.sizeBytes = bytes.count
            let manifest = try CheckpointCodec.decode(bytes)
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
