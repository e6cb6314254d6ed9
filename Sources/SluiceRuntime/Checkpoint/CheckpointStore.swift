import SluiceCore
import DurableFiles
import Foundation

/// The home of a pipeline's checkpoints and savepoints, on a ``CheckpointStorage``: a local
/// directory or an S3 prefix.
///
/// Layout under the storage's root:
///
/// ```
/// checkpoints/chk-<id, 20 digits>.ckpt   periodic checkpoints, pruned by prune(retaining:)
/// savepoints/<name>.ckpt                 named savepoints, never pruned or overwritten
/// operators/<operator name>/             staged objects of the operators (ABI 1.2 staging)
/// ```
///
/// and, in ``localDirectory`` (the root itself when the storage is local):
///
/// ```
/// operators/<operator name>/             state_dir of plugins that predate staging
/// ```
///
/// A checkpoint is complete when its manifest object is written (the storage's writes are
/// atomic and durable); a crash leaves at most a local temp file behind, which readers
/// ignore and the next write or prune removes.
///
/// Thread safety: the store holds no mutable state, so any thread may call any method and
/// calls may overlap. Only one process should use a root at a time.
public final class CheckpointStore: Sendable {
    // MARK: Layout

    public let storage: any CheckpointStorage
    /// Where operators' local state directories go.
    public let localDirectory: String

    /// The root, for messages: a path or an s3:// URL.
    public var directory: String { storage.location }

    static let checkpointsFolder = "checkpoints"
    static let savepointsFolder = "savepoints"
    static let checkpointPrefix = "chk-"
    static let fileExtension = ".ckpt"
    static let idDigits = 20
    /// Keeps `<name>.ckpt` and the temp name derived from it under the usual 255-byte limit.
    static let maximumNameLength = SafeName.maximumLength

    // MARK: Creation

    /// Opens a store in a local directory, creating it if needed. Any thread may call this.
    ///
    /// - Throws: ``CheckpointStoreError`` when the directory cannot be created.
    public convenience init(directory: String) throws {
        let storage = try LocalCheckpointStorage(directory: directory)
        // The layout exists from the start, so a listing never mistakes a missing folder
        // for an unreadable one.
        for folder in [Self.checkpointsFolder, Self.savepointsFolder, "operators"] {
            do { try DurableFile.makeDirectories(directory + "/" + folder) } catch {
                throw CheckpointStoreError(message: "could not create directory \(directory)/\(folder): \(error). Check that the parent exists and is writable.")
            }
        }
        do { try DurableFile.syncDirectory(directory) } catch {
            throw CheckpointStoreError(message: "\(error). Check that the checkpoint directory is on a writable local file system.")
        }
        self.init(storage: storage, localDirectory: directory)
    }

    public init(storage: any CheckpointStorage, localDirectory: String) {
        self.storage = storage
        self.localDirectory = localDirectory
    }

    // MARK: Operator state

    /// Returns `<localDirectory>/operators/<operatorName>`, creating it if needed. Any thread may call this.
    ///
    /// - Throws: ``CheckpointStoreError`` when the name is not usable as a directory name or
    ///   the directory cannot be created.
    public func operatorStateDirectory(for operatorName: String) throws -> String {
        try Self.validateName(operatorName, describing: "operator")
        let path = localDirectory + "/operators/" + operatorName
        do {
            try DurableFile.makeDirectories(path)
        } catch {
            throw CheckpointStoreError(message: "could not create directory \(path): \(error). Check that the parent exists and is writable.")
        }
        return path
    }

    /// The durable staging of operator `operatorName` (ABI 1.2): its state directory when the
    /// store is local (so what older versions staged there is found), `operators/<name>/`
    /// under the prefix on S3, with what this process seals cached in `localDirectory`.
    /// Opening an S3 area aborts the uploads a crashed writer left.
    func stagingArea(for operatorName: String) throws -> any StagingArea {
        if let s3 = storage as? S3CheckpointStorage {
            try Self.validateName(operatorName, describing: "operator")
            return try S3StagingArea(client: s3.stagingClient, root: s3.root.appending("operators/\(operatorName)/"),
                                     cache: localDirectory + "/staging-cache/" + operatorName)
        }
        return try LocalStagingArea(directory: try operatorStateDirectory(for: operatorName))
    }

    // MARK: Small records beside the checkpoints

    /// A record such as `sink-slot` or `start-from-savepoint`; nil when absent or unreadable.
    func readRecord(_ name: String) -> [UInt8]? { (try? storage.read(name)) ?? nil }

    func writeRecord(_ name: String, bytes: [UInt8]) throws { try storage.replace(name, bytes: bytes) }

    func removeRecord(_ name: String) throws { try storage.remove(name) }

    /// Where a record is, for messages.
    func describeRecord(_ name: String) -> String { locate(name) }

    // MARK: Keys

    /// `checkpoints/chk-00000000000000000042.ckpt` for id 42; zero padding makes name order
    /// match id order in listings.
    func checkpointKey(id: UInt64) -> String {
        Self.checkpointsFolder + "/" + Self.checkpointFileName(id: id)
    }

    static func checkpointFileName(id: UInt64) -> String {
        let digits = String(id)
        return checkpointPrefix + String(repeating: "0", count: idDigits - digits.count) + digits + fileExtension
    }

    func savepointKey(name: String) -> String {
        Self.savepointsFolder + "/" + name + Self.fileExtension
    }

    /// The full path or URL of a key, for messages and listings.
    func locate(_ key: String) -> String {
        directory.hasSuffix("/") ? directory + key : directory + "/" + key
    }

    /// The id in a checkpoint file name, or `nil` if `fileName` is not a checkpoint file.
    static func checkpointID(fromFileName fileName: String) -> UInt64? {
        guard fileName.hasPrefix(checkpointPrefix), fileName.hasSuffix(fileExtension) else { return nil }
        let digits = fileName.dropFirst(checkpointPrefix.count).dropLast(fileExtension.count)
        guard digits.count == idDigits, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt64(digits)
    }

    /// The savepoint name in a savepoint file name, or `nil` if `fileName` is not one.
    static func savepointName(fromFileName fileName: String) -> String? {
        guard fileName.hasSuffix(fileExtension) else { return nil }
        let name = String(fileName.dropLast(fileExtension.count))
        guard (try? validateName(name, describing: "savepoint")) != nil else { return nil }
        return name
    }

    /// Applies `SafeName`, the one rule for names.
    static func validateName(_ name: String, describing what: String) throws {
        if let problem = SafeName.problem(name, describing: what) { throw CheckpointStoreError(message: problem) }
    }
}
