/// Staging of one object per epoch, for sinks whose epoch is a byte stream: the epoch in
/// progress is an unnamed staged object appended to; sealing makes it durable as
/// `sealed-<id><suffix>` in the operator's ``Staging`` (a local directory or object storage).
/// A sink conforms to ``FileEpochStore`` and supplies only how a sealed epoch is committed.
///
/// Operator thread only, except ``sealedName(_:)`` and reading sealed epochs through
/// ``staging``, which any thread may do.
public final class EpochFiles {
    public let staging: Staging
    public let suffix: String
    private var current: Staging.Writer?

    public init(staging: Staging, suffix: String) {
        self.staging = staging
        self.suffix = suffix
    }

    /// The name of a sealed epoch's object.
    public func sealedName(_ epoch: UInt64) -> String { "sealed-\(epoch)" + suffix }

    /// Where a sealed epoch is, for messages.
    public func describe(_ epoch: UInt64) -> String { staging.location + "/" + sealedName(epoch) }

    /// Appends to the epoch in progress, starting it (empty) on first use.
    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        try openCurrent().write(bytes)
    }

    public func append(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try append($0) }
    }

    /// Makes the epoch in progress durable as `sealed-<epoch>`. With `sealingEmpty` false an
    /// epoch nothing was appended to is not sealed (and false returned).
    public func seal(_ epoch: UInt64, sealingEmpty: Bool) throws -> Bool {
        if current == nil && !sealingEmpty { return false }
        let writer = try openCurrent()
        current = nil
        try writer.seal(as: sealedName(epoch))
        return true
    }

    public func isSealed(_ epoch: UInt64) throws -> Bool { try staging.exists(sealedName(epoch)) }

    public func sealedEpochs() throws -> [UInt64] {
        try staging.list().compactMap { object in
            guard object.name.hasPrefix("sealed-"), object.name.hasSuffix(suffix) else { return nil }
            return UInt64(object.name.dropFirst("sealed-".count).dropLast(suffix.count))
        }
    }

    /// The bytes of a sealed epoch (any thread).
    public func read(_ epoch: UInt64) throws -> [UInt8] { try staging.readAll(sealedName(epoch)) }

    public func discardCurrent() throws {
        current?.abandon()
        current = nil
    }

    public func discard(_ epoch: UInt64) throws {
        try staging.remove(sealedName(epoch))
    }

    /// Removes a committed epoch durably.
    public func remove(_ epoch: UInt64) throws {
        try staging.remove(sealedName(epoch))
    }

    /// Drops the epoch in progress (the source replays it after the next start).
    public func closeCurrent() {
        current?.abandon()
        current = nil
    }

    private func openCurrent() throws -> Staging.Writer {
        if let current { return current }
        let writer = try staging.makeWriter()
        current = writer
        return writer
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
    func isStaged(_ epoch: UInt64) throws -> Bool { try files.isSealed(epoch) }
    func stagedEpochs() throws -> [UInt64] { try files.sealedEpochs() }
    func discardCurrent() throws { try files.discardCurrent() }
    func discard(_ epoch: UInt64) throws { try files.discard(epoch) }
}
