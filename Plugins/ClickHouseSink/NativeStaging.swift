import Foundation
import PluginKit

/// The exactly-once staging area, in the operator's durable ``Staging`` (beside the
/// checkpoints: a local directory or object storage):
///
///     block-<writer>-<n>.native     one Native block each, sealed as soon as it is complete
///     epoch-<checkpoint>.blocks     a sealed epoch: the names of its blocks, in order
///
/// A block object is a one-line JSON header (`{"columns":[...],"rows":N}`) and the Native
/// bytes. Sealing an epoch writes its `.blocks` list (one small object): the blocks were
/// durable already, so the seal is atomic wherever the staging lives. Committing an epoch
/// inserts its blocks in order, deleting each block after ClickHouse acknowledged it, then the
/// list. Blocks no list names belong to no sealed epoch (a crash cut their epoch short) and are
/// deleted with the epoch in progress. Memory stays bounded: a block is at most
/// `max_block_rows` / `max_block_bytes`, written as it is encoded and sent in chunks.
///
/// The current epoch is written from the sink's operator thread only; a sealed epoch is read
/// and removed by the committer threads.
final class NativeStaging: @unchecked Sendable {
    // @unchecked: `currentBlocks` and `blockCounter` belong to the operator thread; the rest
    // is immutable or the thread-safe Staging.
    let staging: Staging
    /// Unique to this instance, so block names never collide with those of an earlier run.
    private let writerToken = String(UUID().uuidString.prefix(8)).lowercased()
    private var blockCounter = 0
    /// Names of the blocks of the epoch in progress.
    private var currentBlocks: [String] = []

    init(staging: Staging) {
        self.staging = staging
    }

    static func listName(_ epoch: UInt64) -> String { "epoch-\(epoch).blocks" }

    // MARK: - The current epoch

    /// Starts the current epoch afresh: rows staged but never sealed belong to no checkpoint
    /// and the source replays them. Blocks no sealed epoch names (left by a crash) go too.
    func discardCurrent() throws {
        var named = Set<String>()
        let objects = try staging.list()
        for object in objects where object.name.hasPrefix("epoch-") && object.name.hasSuffix(".blocks") {
            named.formUnion(try blockNames(listedIn: object.name))
        }
        for object in objects where object.name.hasPrefix("block-") && !named.contains(object.name) {
            try staging.remove(object.name)
        }
        currentBlocks = []
    }

    var currentBlockCount: Int { currentBlocks.count }

    /// Writes one block of the current epoch, whose Native bytes `body` passes in pieces to the
    /// writer it is given, and seals it durably.
    func stage(columns: [String], rows: Int, body: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        blockCounter += 1
        let name = "block-\(writerToken)-\(blockCounter).native"
        let writer = try staging.makeWriter(name: name)
        let header = try JSONSerialization.data(withJSONObject: ["columns": columns, "rows": rows] as [String: Any])
        var head = [UInt8](header)
        head.append(UInt8(ascii: "\n"))
        try writer.write(head)
        try body { try writer.write($0) }
        try writer.seal()
        currentBlocks.append(name)
    }

    /// Seals the current epoch under `epoch`, durably. An epoch without rows is not sealed
    /// (nothing to commit): false.
    func seal(_ epoch: UInt64) throws -> Bool {
        guard !currentBlocks.isEmpty else { return false }
        let list = try JSONSerialization.data(withJSONObject: ["blocks": currentBlocks])
        let writer = try staging.makeWriter(name: Self.listName(epoch))
        try writer.write([UInt8](list))
        try writer.seal()
        currentBlocks = []
        return true
    }

    func isSealed(_ epoch: UInt64) throws -> Bool { try staging.exists(Self.listName(epoch)) }

    func sealedEpochs() throws -> [UInt64] {
        try staging.list().compactMap { object in
            guard object.name.hasPrefix("epoch-"), object.name.hasSuffix(".blocks") else { return nil }
            return UInt64(object.name.dropFirst("epoch-".count).dropLast(".blocks".count))
        }
    }

    // MARK: - Epochs staged by earlier versions

    /// Sealed epochs an earlier version of this sink left in its state directory
    /// (`sealed-<id>/block-<n>.native`, the same bytes as a block object), moved into the
    /// staging so that an upgrade with epochs pending loses none. Each block keeps its index
    /// (part of its query_id); blocks already inserted and deleted stay gaps in the list. The
    /// epoch in progress (`current/`) was never sealed and goes. Returns the adopted epochs.
    @discardableResult
    func adoptEpochs(leftIn directory: String) throws -> [UInt64] {
        guard let names = try? DurableFile.list(directory) else { return [] }
        var adopted: [UInt64] = []
        for name in names where name.hasPrefix("sealed-") {
            let folder = directory + "/" + name
            guard let epoch = UInt64(name.dropFirst("sealed-".count)), let files = try? DurableFile.list(folder) else { continue }
            let blocks = files.compactMap { file -> (Int, String)? in
                guard file.hasPrefix("block-"), file.hasSuffix(".native"), let index = Int(file.dropFirst(6).dropLast(7)) else { return nil }
                return (index, folder + "/" + file)
            }
            if !(try staging.exists(Self.listName(epoch))) {
                let count = blocks.map(\.0).max() ?? 0
                let objectNames = (1...max(count, 1)).map { "block-v1e\(epoch)-\($0).native" }
                for (index, path) in blocks {
                    let writer = try staging.makeWriter(name: objectNames[index - 1])
                    var offset = 0
                    var chunk = [UInt8](repeating: 0, count: 1 << 20)
                    while true {
                        let n = try chunk.withUnsafeMutableBytes { try StagedObjectDirectory.read(path, offset: offset, into: $0) }
                        if n == 0 { break }
                        try chunk.withUnsafeBytes { try writer.write(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                        offset += n
                    }
                    try writer.seal()
                }
                let list = try JSONSerialization.data(withJSONObject: ["blocks": count == 0 ? [] : objectNames])
                let writer = try staging.makeWriter(name: Self.listName(epoch))
                try writer.write([UInt8](list))
                try writer.seal()
            }
            try DurableFile.removeTree(folder)
            adopted.append(epoch)
        }
        try DurableFile.removeTree(directory + "/current")
        return adopted
    }

    // MARK: - Sealed epochs

    private func blockNames(listedIn listName: String) throws -> [String] {
        let bytes = try staging.readAll(listName)
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any], let names = object["blocks"] as? [String] else {
            throw ClickHouseError.local("the staged epoch list \(staging.location)/\(listName) is damaged; the staging was changed by hand")
        }
        return names
    }

    /// How many blocks a sealed epoch has, and those still staged, in order, with their
    /// 1-based index in the epoch (part of each block's query_id, so it must not change when
    /// some are gone).
    func blocks(of epoch: UInt64) throws -> (count: Int, staged: [(index: Int, name: String)]) {
        let names = try blockNames(listedIn: Self.listName(epoch))
        let present = Set(try staging.list().map(\.name))
        return (names.count, names.enumerated().compactMap { present.contains($0.element) ? ($0.offset + 1, $0.element) : nil })
    }

    /// A staged block's header, and where its Native bytes lie in the object, so that they can
    /// be sent in chunks straight from it.
    struct StagedBlock {
        let name: String
        let columns: [String]
        let rows: Int
        let bodyOffset: Int
        let bodyLength: Int

        func insertStatement(database: String, table: String) -> String {
            EncodedBlock(columns: columns, rows: rows, bytes: []).insertStatement(database: database, table: table)
        }
    }

    /// Reads a staged block's header only.
    func stagedBlock(_ name: String) throws -> StagedBlock {
        guard let size = try staging.size(name) else { throw ClickHouseError.local("staged block \(staging.location)/\(name) is gone") }
        let damaged = ClickHouseError.local("staged block \(staging.location)/\(name) is damaged (no header); the staging was changed by hand")
        var head: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while head.count < min(size, 1 << 20) {
            let n = try chunk.withUnsafeMutableBytes { try staging.read(name, offset: head.count, into: $0) }
            if n == 0 { break }
            let newlineBefore = head.count
            head += chunk[0..<n]
            if head[newlineBefore...].contains(UInt8(ascii: "\n")) { break }
        }
        guard let newline = head.firstIndex(of: UInt8(ascii: "\n")),
              let header = try? JSONSerialization.jsonObject(with: Data(head[0..<newline])) as? [String: Any],
              let columns = header["columns"] as? [String], let rows = header["rows"] as? Int else { throw damaged }
        return StagedBlock(name: name, columns: columns, rows: rows, bodyOffset: newline + 1, bodyLength: size - newline - 1)
    }

    /// A block ClickHouse has acknowledged.
    func removeBlock(_ name: String) throws {
        try staging.remove(name)
    }

    /// Removes a sealed epoch whose checkpoint never completed, blocks and list. The list goes
    /// last, so a crash part-way leaves it to finish the job.
    func remove(_ epoch: UInt64) throws {
        for block in try blocks(of: epoch).staged { try staging.remove(block.name) }
        try removeList(of: epoch)
    }

    /// Removes a committed epoch's list, once each of its blocks was removed as ClickHouse
    /// acknowledged it.
    func removeList(of epoch: UInt64) throws {
        try staging.remove(Self.listName(epoch))
    }
}
