import SluiceCore
import DurableFiles
import Foundation

/// The on-disk home of a pipeline's checkpoints, savepoints and operator state directories.
///
/// Layout under ``directory``:
///
/// ```
/// checkpoints/chk-<id, 20 digits>.ckpt   periodic checkpoints, pruned by prune(retaining:)
/// savepoints/<name>.ckpt                 named savepoints, never pruned or overwritten
/// operators/<operator name>/             scratch space operators may use for large state
/// ```
///
/// Files are written atomically and durably (temp file, fsync, rename, fsync directory), so a
/// file under its final name is always complete; a crash leaves at most a `.tmp-` file behind,
/// which readers ignore and the next write or prune removes.
///
/// Thread safety: the store holds no mutable state, so any thread may call any method and
/// calls may overlap. Only one process should use a directory at a time.
public final class CheckpointStore: Sendable {
    // MARK: Layout

    /// The root directory given at creation.
    public let directory: String
    let checkpointsDirectory: String
    let savepointsDirectory: String
    let operatorsDirectory: String

    static let checkpointPrefix = "chk-"
    static let fileExtension = ".ckpt"
    static let idDigits = 20
    /// Temp files start with this; being hidden, they can never match a final file name.
    static let temporaryPrefix = ".tmp-"
    /// Keeps `<name>.ckpt` and the temp name derived from it under the usual 255-byte limit.
    static let maximumNameLength = SafeName.maximumLength

    // MARK: Creation

    /// Opens the store at `directory`, creating it and its subdirectories if needed.
    /// Any thread may call this.
    ///
    /// - Throws: ``CheckpointStoreError`` when a directory cannot be created.
    public init(directory: String) throws {
        self.directory = directory
        checkpointsDirectory = directory + "/checkpoints"
        savepointsDirectory = directory + "/savepoints"
        operatorsDirectory = directory + "/operators"
        for subdirectory in [checkpointsDirectory, savepointsDirectory, operatorsDirectory] {
            try Self.makeDirectory(subdirectory)
        }
        // New subdirectories must survive a crash, or files renamed into them would vanish.
        do {
            try DurableFile.syncDirectory(directory)
        } catch let error as DurableFileError {
            throw CheckpointStoreError(message: "\(error.message). Check that the checkpoint directory is on a writable local file system.")
        }
    }

    // MARK: Operator state

    /// Returns `<directory>/operators/<operatorName>`, creating it if needed. Any thread may call this.
    ///
    /// - Throws: ``CheckpointStoreError`` when the name is not usable as a directory name or
    ///   the directory cannot be created.
    public func operatorStateDirectory(for operatorName: String) throws -> String {
        try Self.validateName(operatorName, describing: "operator")
        let path = operatorsDirectory + "/" + operatorName
        try Self.makeDirectory(path)
        return path
    }

    // MARK: File names

    /// `checkpoints/chk-00000000000000000042.ckpt` for id 42; zero padding makes name order
    /// match id order in directory listings.
    func checkpointPath(id: UInt64) -> String {
        let digits = String(id)
        let padded = String(repeating: "0", count: Self.idDigits - digits.count) + digits
        return checkpointsDirectory + "/" + Self.checkpointPrefix + padded + Self.fileExtension
    }

    func savepointPath(name: String) -> String {
        savepointsDirectory + "/" + name + Self.fileExtension
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

    // MARK: Directories

    static func makeDirectory(_ path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw CheckpointStoreError(message: "could not create directory \(path): \(error.localizedDescription). Check that the parent exists and is writable.")
        }
    }

    /// File names in `directory`; a directory that cannot be listed counts as empty, which
    /// is why the store creates its directories up front.
    static func fileNames(in directory: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
    }
}
