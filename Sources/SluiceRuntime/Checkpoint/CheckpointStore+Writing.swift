import SluiceCore
import Foundation

// MARK: - Writing

extension CheckpointStore {
    /// Writes `manifest` atomically and durably and returns its location. Any thread may
    /// call this; the checkpoint counts as complete only once this returns.
    ///
    /// Checkpoints go to `checkpoints/chk-<id>.ckpt` (replacing one with the same id);
    /// savepoints go to `savepoints/<name>.ckpt` and never replace an existing savepoint (a
    /// hard link locally, `If-None-Match: *` on S3). A crash at any point leaves either the
    /// old state or the complete new object.
    ///
    /// - Throws: ``CheckpointStoreError`` for an invalid or taken savepoint name or an I/O
    ///   failure; the message names the location. Earlier checkpoints are never affected.
    @discardableResult
    public func write(_ manifest: CheckpointManifest) throws -> String {
        let key: String
        switch manifest.kind {
        case .checkpoint:
            key = checkpointKey(id: manifest.id)
        case let .savepoint(name):
            try Self.validateName(name, describing: "savepoint")
            key = savepointKey(name: name)
        }
        let bytes = CheckpointCodec.encode(manifest)
        let folder = String(key.prefix { $0 != "/" })
        do {
            _ = try storage.removeLeftovers(folder: folder)
            switch manifest.kind {
            case .checkpoint:
                try storage.replace(key, bytes: bytes)
            case let .savepoint(name):
                guard try storage.createIfAbsent(key, bytes: bytes) else {
                    throw SavepointTaken(name: name)
                }
            }
        } catch let taken as SavepointTaken {
            throw CheckpointStoreError(message: "savepoint \"\(taken.name)\" already exists at \(locate(key)); choose another name or delete it first")
        } catch let error as CheckpointStoreError {
            throw CheckpointStoreError(message: "\(describe(manifest)) was not written: \(error.message). Earlier checkpoints are untouched; check free space and permissions in \(locate(folder)).")
        }
        return locate(key)
    }

    private struct SavepointTaken: Error { let name: String }

    /// Records in savepoint `name` that every epoch its sinks sealed has been committed (the
    /// stop that took it ended cleanly), which is what lets it start another layout. Replaces
    /// the object atomically; the savepoint stays valid whether or not this completes.
    public func markEpochsCommitted(savepoint name: String) throws {
        var manifest = try savepoint(named: name)
        guard !manifest.epochsCommitted else { return }
        manifest.epochsCommitted = true
        do {
            try storage.replace(savepointKey(name: name), bytes: CheckpointCodec.encode(manifest))
        } catch {
            throw CheckpointStoreError(message: "could not record in savepoint '\(name)' that its epochs are committed: \(error)")
        }
    }

    /// Moves checkpoints out of `checkpoints/` into `folder` (copy, then delete), so nothing
    /// resumes from them; returns where they went.
    func moveAside(_ names: [String], folder: String) throws -> String {
        for name in names {
            let key = Self.checkpointsFolder + "/" + name
            if let bytes = try storage.read(key) { try storage.replace(folder + "/" + name, bytes: bytes) }
            try storage.remove(key)
        }
        return locate(folder)
    }

    // MARK: Messages

    func describe(_ manifest: CheckpointManifest) -> String {
        switch manifest.kind {
        case .checkpoint:
            return "checkpoint \(manifest.id)"
        case let .savepoint(name):
            return "savepoint \"\(name)\" (checkpoint \(manifest.id))"
        }
    }
}
