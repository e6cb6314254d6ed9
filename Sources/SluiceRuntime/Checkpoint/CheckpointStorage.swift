import DurableFiles
import Foundation
import Glibc
import SluiceCore

/// Where a ``CheckpointStore`` keeps its objects: a local directory or a prefix in an
/// S3-compatible bucket. Keys are relative paths ("checkpoints/chk-….ckpt", "sink-slot").
///
/// Every write is atomic (a reader sees the old object, or the whole new one) and durable once
/// it returns, so an object under its final key is always complete.
///
/// Any thread; calls may overlap.
public protocol CheckpointStorage: Sendable {
    /// "/var/lib/sluice/x" or "s3://bucket/prefix/", for messages and listings.
    var location: String { get }
    /// The object's bytes, nil when there is none.
    func read(_ key: String) throws -> [UInt8]?
    /// Writes the object, replacing one of that key.
    func replace(_ key: String, bytes: [UInt8]) throws
    /// Writes the object only if no object has that key, atomically against a racing
    /// writer; false when one has.
    func createIfAbsent(_ key: String, bytes: [UInt8]) throws -> Bool
    /// The objects directly in `folder` ("checkpoints"), any order.
    func list(folder: String) throws -> [StoredObject]
    /// The folder names directly under the root ("checkpoints", "instance-0", ...).
    func folders() throws -> [String]
    /// Deletes an object, durably; an absent one is no error.
    func remove(_ key: String) throws
    /// The same storage rooted at `folder`.
    func below(_ folder: String) -> any CheckpointStorage
    /// Removes what crashed writers left (local temp files); returns their locations.
    func removeLeftovers(folder: String) throws -> [String]
}

/// One object of a listing.
public struct StoredObject: Sendable {
    public var name: String
    public var size: Int
    public var modified: Date
}

/// Checkpoints in a local directory: temp file, fsync, rename, fsync of the directory.
/// A key that would create a folder creates it (durably) on first write.
public struct LocalCheckpointStorage: CheckpointStorage {
    public let directory: String
    public var location: String { directory }
    /// Temp files start with this; being hidden, they can never match a final name.
    static let temporaryPrefix = ".tmp-"

    public init(directory: String) throws {
        self.directory = directory
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw CheckpointStoreError(message: "the checkpoint directory \(directory) is a file; point checkpointing.directory at a directory")
        }
        do {
            try DurableFile.makeDirectories(directory)
        } catch {
            throw CheckpointStoreError(message: "could not create directory \(directory): \(error). Check that the parent exists and is writable.")
        }
    }

    private func path(_ key: String) -> String { directory + "/" + key }

    public func read(_ key: String) throws -> [UInt8]? {
        let path = path(key)
        guard DurableFile.exists(path) else { return nil }
        do { return try DurableFile.read(path) } catch let error as DurableFileError {
            throw CheckpointStoreError(message: error.message)
        }
    }

    public func replace(_ key: String, bytes: [UInt8]) throws {
        let (temporary, final, folder) = try prepare(key)
        do {
            try DurableFile.createAndSync(temporary, bytes: bytes)
            try DurableFile.rename(temporary, to: final)
            try DurableFile.syncDirectory(folder)
        } catch {
            try? DurableFile.remove(temporary)
            throw CheckpointStoreError(message: "\(error)")
        }
    }

    /// A hard link gives the temp file its name only if the name is free (rename would
    /// replace); file systems without hard links fall back to an existence check and rename.
    public func createIfAbsent(_ key: String, bytes: [UInt8]) throws -> Bool {
        let (temporary, final, folder) = try prepare(key)
        if DurableFile.exists(final) { return false }
        defer { try? DurableFile.remove(temporary) }
        do {
            try DurableFile.createAndSync(temporary, bytes: bytes)
            switch try DurableFile.link(temporary, to: final) {
            case .linked: break
            case .destinationExists: return false
            case .unsupported: try DurableFile.rename(temporary, to: final)
            }
            try DurableFile.syncDirectory(folder)
            return true
        } catch {
            throw CheckpointStoreError(message: "\(error)")
        }
    }

    public func list(folder: String) throws -> [StoredObject] {
        let folderPath = path(folder)
        return ((try? DurableFile.list(folderPath)) ?? []).compactMap { name in
            guard !name.hasPrefix(Self.temporaryPrefix), let status = try? DurableFile.status(folderPath + "/" + name) else { return nil }
            return StoredObject(name: name, size: status.sizeBytes, modified: status.modified)
        }
    }

    public func folders() throws -> [String] {
        ((try? DurableFile.list(directory)) ?? []).filter { name in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path(name), isDirectory: &isDirectory) && isDirectory.boolValue
        }
    }

    public func remove(_ key: String) throws {
        let path = path(key)
        guard DurableFile.exists(path) else { return }
        do {
            try DurableFile.remove(path)
            try DurableFile.syncDirectory((path as NSString).deletingLastPathComponent)
        } catch {
            throw CheckpointStoreError(message: "\(error). Check permissions in \(directory)")
        }
    }

    public func below(_ folder: String) -> any CheckpointStorage {
        // The folder is created on first write.
        LocalCheckpointStorage(unchecked: path(folder))
    }

    private init(unchecked directory: String) { self.directory = directory }

    /// Temp files other processes left behind after crashing. Temp files named with this
    /// process's id may belong to a write in progress on another thread and are kept.
    public func removeLeftovers(folder: String) throws -> [String] {
        let folderPath = path(folder)
        let ownPrefix = Self.temporaryPrefix + "\(getpid())-"
        var removed: [String] = []
        for name in (try? DurableFile.list(folderPath)) ?? [] where name.hasPrefix(Self.temporaryPrefix) && !name.hasPrefix(ownPrefix) {
            let leftover = folderPath + "/" + name
            do { try DurableFile.remove(leftover) } catch {
                throw CheckpointStoreError(message: "\(error). Check permissions in \(folderPath)")
            }
            removed.append(leftover)
        }
        return removed
    }

    /// The temp path beside the final one, the final one, and its folder (created durably).
    private func prepare(_ key: String) throws -> (String, String, String) {
        let final = path(key)
        let folder = (final as NSString).deletingLastPathComponent
        if !DurableFile.exists(folder) {
            do {
                try DurableFile.makeDirectories(folder)
                try DurableFile.syncDirectory((folder as NSString).deletingLastPathComponent)
            } catch {
                throw CheckpointStoreError(message: "could not create directory \(folder): \(error). Check that the checkpoint directory is on a writable local file system.")
            }
        }
        let temporary = folder + "/" + Self.temporaryPrefix + "\(getpid())-\(UUID().uuidString)-" + (final as NSString).lastPathComponent
        return (temporary, final, folder)
    }
}
