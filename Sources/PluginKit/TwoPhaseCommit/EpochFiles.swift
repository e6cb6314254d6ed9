import Glibc

/// Staging of one file per epoch, for sinks whose epoch is a byte stream: the epoch in
/// progress is `current<suffix>`, appended to; sealing fsyncs it and renames it to
/// `sealed-<id><suffix>` (then fsyncs the folder). A sink conforms to ``FileEpochStore`` and
/// supplies only how a sealed file is committed.
///
/// Operator thread only, except ``sealedPath(_:)``, which any thread may call.
public final class EpochFiles {
    public let directory: String
    public let suffix: String
    private var current: Int32 = -1

    public init(directory: String, suffix: String) {
        self.directory = directory
        self.suffix = suffix
    }

    deinit { if current >= 0 { close(current) } }

    public var currentPath: String { directory + "/current" + suffix }
    public func sealedPath(_ epoch: UInt64) -> String { directory + "/sealed-\(epoch)" + suffix }

    /// Appends to the epoch in progress, creating its file (empty) on first use.
    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        try openCurrent()
        try DurableFile.writeAll(current, bytes, path: currentPath)
    }

    public func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }

    /// Makes the epoch in progress durable as `sealed-<epoch>`. With `sealingEmpty` false an
    /// epoch nothing was appended to is not sealed (and false returned).
    public func seal(_ epoch: UInt64, sealingEmpty: Bool) throws -> Bool {
        if current < 0 {
            guard sealingEmpty else { return false }
            try openCurrent()
        }
        let descriptor = current
        current = -1
        defer { close(descriptor) }
        try DurableFile.sync(descriptor, path: currentPath)
        try DurableFile.renameDurably(currentPath, to: sealedPath(epoch))
        return true
    }

    public func isSealed(_ epoch: UInt64) -> Bool { DurableFile.exists(sealedPath(epoch)) }

    public func sealedEpochs() throws -> [UInt64] {
        try DurableFile.list(directory).compactMap { name in
            guard name.hasPrefix("sealed-"), name.hasSuffix(suffix) else { return nil }
            return UInt64(name.dropFirst("sealed-".count).dropLast(suffix.count))
        }
    }

    public func discardCurrent() throws {
        if current >= 0 { close(current); current = -1 }
        try DurableFile.remove(currentPath)
    }

    public func discard(_ epoch: UInt64) throws {
        try DurableFile.remove(sealedPath(epoch))
    }

    /// Removes a committed epoch's file and makes the removal durable.
    public func remove(_ epoch: UInt64) throws {
        try DurableFile.remove(sealedPath(epoch))
        try DurableFile.syncDirectory(directory)
    }

    /// Closes the epoch in progress, keeping what it holds (it is discarded on the next start).
    public func closeCurrent() {
        if current >= 0 { close(current); current = -1 }
    }

    private func openCurrent() throws {
        guard current < 0 else { return }
        current = try DurableFile.openTruncated(currentPath)
    }
}

/// An ``EpochStore`` that stages its epochs in ``EpochFiles``: everything but `commit` comes
/// from the files.
public protocol FileEpochStore: EpochStore {
    var files: EpochFiles { get }
    /// Whether an empty epoch is sealed (and committed) too; default false.
    var sealsEmptyEpochs: Bool { get }
}

public extension FileEpochStore {
    var sealsEmptyEpochs: Bool { false }
    func seal(_ epoch: UInt64) throws -> Bool { try files.seal(epoch, sealingEmpty: sealsEmptyEpochs) }
    func isStaged(_ epoch: UInt64) throws -> Bool { files.isSealed(epoch) }
    func stagedEpochs() throws -> [UInt64] { try files.sealedEpochs() }
    func discardCurrent() throws { try files.discardCurrent() }
    func discard(_ epoch: UInt64) throws { try files.discard(epoch) }
}
