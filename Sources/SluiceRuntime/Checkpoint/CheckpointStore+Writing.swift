import SluiceCore
import DurableFiles
import Foundation
import Glibc

// MARK: - Writing

extension CheckpointStore {
    /// Writes `manifest` atomically and durably and returns its final path. Any thread may
    /// call this; the checkpoint counts as complete only once this returns.
    ///
    /// Checkpoints go to `checkpoints/chk-<id>.ckpt` (replacing a file with the same id);
    /// savepoints go to `savepoints/<name>.ckpt` and never replace an existing savepoint.
    /// Steps: encode, write a temp file in the destination directory, fsync it, move it to
    /// the final name, fsync the directory. A crash at any point leaves either the old state
    /// or the complete new file, plus at most a temp file that is cleaned up later.
    ///
    /// - Throws: ``CheckpointStoreError`` for an invalid or taken savepoint name or an I/O
    ///   failure; the message names the path. Earlier checkpoints are never affected.
    @discardableResult
    public func write(_ manifest: CheckpointManifest) throws -> String {
        let finalPath: String
        switch manifest.kind {
        case .checkpoint:
            finalPath = checkpointPath(id: manifest.id)
        case let .savepoint(name):
            try Self.validateName(name, describing: "savepoint")
            finalPath = savepointPath(name: name)
            // Checked up front to fail before encoding and writing; the link below is what
            // makes the refusal race-free.
            guard !FileManager.default.fileExists(atPath: finalPath) else {
                throw savepointExists(name: name, path: finalPath)
            }
        }
        let directory = (finalPath as NSString).deletingLastPathComponent
        let bytes = CheckpointCodec.encode(manifest)
        let temporaryPath = directory + "/" + Self.temporaryPrefix + "\(getpid())-\(UUID().uuidString)-" + (finalPath as NSString).lastPathComponent
        // Set when another writer took the savepoint name after the check above; reported
        // outside the I/O error wrapping because it is not an I/O problem.
        var takenSavepointName: String?
        do {
            try removeLeftoverTemporaryFiles(in: directory)
            try DurableFile.createAndSync(temporaryPath, bytes: bytes)
            switch manifest.kind {
            case .checkpoint:
                try DurableFile.rename(temporaryPath, to: finalPath)
            case let .savepoint(name):
                if try !publishWithoutReplacing(temporaryPath, to: finalPath) {
                    takenSavepointName = name
                }
            }
            try DurableFile.syncDirectory(directory)
        } catch let error as CheckpointStoreError {
            try? DurableFile.remove(temporaryPath)
            throw CheckpointStoreError(message: "\(describe(manifest)) was not written: \(error.message). Earlier checkpoints are untouched; check free space and permissions in \(directory).")
        }
        if let name = takenSavepointName {
            try? DurableFile.remove(temporaryPath)
            throw savepointExists(name: name, path: finalPath)
        }
        return finalPath
    }

    /// Records in savepoint `name` that every epoch its sinks sealed has been committed (the
    /// stop that took it ended cleanly), which is what lets it start another layout. Replaces
    /// the file atomically; the savepoint stays valid whether or not this completes.
    public func markEpochsCommitted(savepoint name: String) throws {
        var manifest = try savepoint(named: name)
        guard !manifest.epochsCommitted else { return }
        manifest.epochsCommitted = true
        let finalPath = savepointPath(name: name)
        let directory = (finalPath as NSString).deletingLastPathComponent
        let temporaryPath = directory + "/" + Self.temporaryPrefix + "\(getpid())-\(UUID().uuidString)-" + (finalPath as NSString).lastPathComponent
        do {
            try DurableFile.createAndSync(temporaryPath, bytes: CheckpointCodec.encode(manifest))
            try DurableFile.rename(temporaryPath, to: finalPath)
            try DurableFile.syncDirectory(directory)
        } catch {
            try? DurableFile.remove(temporaryPath)
            throw CheckpointStoreError(message: "could not record in savepoint '\(name)' that its epochs are committed: \(error)")
        }
    }

    // MARK: Publishing

    /// Gives the temp file its final name only if that name is free, using a hard link
    /// because rename would replace an existing savepoint. File systems without hard links
    /// fall back to rename after the existence check already made. Returns `false`, leaving
    /// the temp file for the caller to remove, when another savepoint took the name first.
    private func publishWithoutReplacing(_ temporaryPath: String, to finalPath: String) throws -> Bool {
        switch try DurableFile.link(temporaryPath, to: finalPath) {
        case .linked:
            // The savepoint is published; a temp name that fails to go away is only a
            // leftover for the next cleanup, not a failed write.
            try? DurableFile.remove(temporaryPath)
            return true
        case .destinationExists:
            return false
        case .unsupported:
            try DurableFile.rename(temporaryPath, to: finalPath)
            return true
        }
    }

    // MARK: Temp files

    /// Removes temp files other processes left behind after crashing. Temp files named with
    /// this process's id may belong to a write in progress on another thread and are kept.
    /// Returns the removed paths.
    @discardableResult
    func removeLeftoverTemporaryFiles(in directory: String) throws -> [String] {
        let ownPrefix = Self.temporaryPrefix + "\(getpid())-"
        var removed: [String] = []
        for name in Self.fileNames(in: directory) where name.hasPrefix(Self.temporaryPrefix) && !name.hasPrefix(ownPrefix) {
            let path = directory + "/" + name
            try DurableFile.remove(path)
            removed.append(path)
        }
        return removed
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

    private func savepointExists(name: String, path: String) -> CheckpointStoreError {
        CheckpointStoreError(message: "savepoint \"\(name)\" already exists at \(path); choose another name or delete that file first")
    }
}
