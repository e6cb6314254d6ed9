import Foundation
import Glibc
import PluginKit

/// The exactly-once staging area in the operator's state directory:
///
///     current/block-000001.native     blocks of the epoch in progress (fsynced as written)
///     sealed-<checkpoint>/block-*.native   sealed epochs waiting for their checkpoint
///
/// Sealing renames `current` to `sealed-<id>` (one atomic rename, then an fsync of the
/// directory). Committing an epoch inserts its blocks in order and deletes each block file after
/// ClickHouse acknowledged it, then the folder. Memory stays bounded: a block is at most
/// `max_block_rows` / `max_block_bytes` and only one is held at a time.
///
/// A block file is a one-line JSON header (`{"columns":[...],"rows":N}`) and the Native bytes.
///
/// Which epochs are pending is the two-phase-commit kit's business (see `ExactlyOnceDelivery`);
/// this type only keeps the files. The current epoch is written from the sink's operator thread
/// only; a sealed epoch is read and removed by the committer thread.
final class NativeStaging {
    let directory: String
    private var currentBlocks = 0

    init(directory: String) {
        self.directory = directory
    }

    var currentDirectory: String { directory + "/current" }
    func sealedDirectory(_ epoch: UInt64) -> String { directory + "/sealed-\(epoch)" }
    static func blockName(_ index: Int) -> String {
        let digits = String(index)
        return "block-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits + ".native"
    }

    // MARK: - The current epoch

    /// Starts the current epoch afresh: rows staged but never sealed belong to no checkpoint
    /// and the source replays them.
    func discardCurrent() throws {
        try DurableFile.removeTree(currentDirectory)
        currentBlocks = 0
    }

    var currentBlockCount: Int { currentBlocks }

    /// Writes one block of the current epoch and fsyncs it.
    func stage(_ block: EncodedBlock) throws {
        try stage(columns: block.columns, rows: block.rows) { write in try block.bytes.withUnsafeBytes(write) }
    }

    /// Writes one block of the current epoch, whose Native bytes `body` passes in pieces to the
    /// writer it is given, and fsyncs it.
    func stage(columns: [String], rows: Int, body: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        if currentBlocks == 0 {
            try DurableFile.removeTree(currentDirectory)
            if mkdir(currentDirectory, 0o755) != 0 && errno != EEXIST { throw posixError("create", currentDirectory) }
        }
        currentBlocks += 1
        let path = currentDirectory + "/" + NativeStaging.blockName(currentBlocks)
        let header = try JSONSerialization.data(withJSONObject: ["columns": columns, "rows": rows] as [String: Any])
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd < 0 { throw posixError("create", path) }
        defer { close(fd) }
        var head = [UInt8](header)
        head.append(UInt8(ascii: "\n"))
        try head.withUnsafeBytes { try DurableFile.writeAll(fd, $0, path: path) }
        try body { try DurableFile.writeAll(fd, $0, path: path) }
        if fsync(fd) != 0 { throw posixError("fsync", path) }
    }

    /// Seals the current epoch under `epoch`, durably. An epoch without rows is not sealed
    /// (nothing to commit): false.
    func seal(_ epoch: UInt64) throws -> Bool {
        guard currentBlocks > 0 else { return false }
        try DurableFile.syncDirectory(currentDirectory)
        let sealed = sealedDirectory(epoch)
        try DurableFile.removeTree(sealed)
        try DurableFile.renameDurably(currentDirectory, to: sealed)
        currentBlocks = 0
        return true
    }

    func isSealed(_ epoch: UInt64) -> Bool { DurableFile.exists(sealedDirectory(epoch)) }

    func sealedEpochs() throws -> [UInt64] {
        try DurableFile.list(directory).compactMap { name in
            name.hasPrefix("sealed-") ? UInt64(name.dropFirst("sealed-".count)) : nil
        }
    }

    // MARK: - Sealed epochs

    /// The block files of a sealed epoch, in order, with their 1-based index.
    func blocks(of epoch: UInt64) -> [(index: Int, path: String)] {
        let dir = sealedDirectory(epoch)
        return ((try? DurableFile.list(dir)) ?? []).compactMap { name -> (Int, String)? in
            guard name.hasPrefix("block-"), name.hasSuffix(".native"), let index = Int(name.dropFirst(6).dropLast(7)) else { return nil }
            return (index, dir + "/" + name)
        }.sorted { $0.0 < $1.0 }
    }

    /// A staged block's header (read from the file), and where its Native bytes lie in the file,
    /// so that they can be sent in chunks straight from it.
    struct StagedBlock {
        let path: String
        let columns: [String]
        let rows: Int
        let bodyOffset: Int
        let bodyLength: Int

        func insertStatement(database: String, table: String) -> String {
            EncodedBlock(columns: columns, rows: rows, bytes: []).insertStatement(database: database, table: table)
        }
    }

    /// Reads a staged block's header only.
    func stagedBlock(_ path: String) throws -> StagedBlock {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw posixError("open", path) }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw posixError("stat", path) }
        let size = Int(st.st_size)
        let damaged = ClickHouseError.local("staged block \(path) is damaged (no header); the staging folder was changed by hand")
        var head = [UInt8](repeating: 0, count: min(size, 1 << 20))
        var done = 0
        while done < head.count {
            let n = head.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw posixError("read", path) }
            if n == 0 { break }
            done += n
            if head[(done - n)..<done].contains(UInt8(ascii: "\n")) { break }
        }
        guard let newline = head[0..<done].firstIndex(of: UInt8(ascii: "\n")),
              let header = try? JSONSerialization.jsonObject(with: Data(head[0..<newline])) as? [String: Any],
              let columns = header["columns"] as? [String], let rows = header["rows"] as? Int else { throw damaged }
        return StagedBlock(path: path, columns: columns, rows: rows, bodyOffset: newline + 1, bodyLength: size - newline - 1)
    }

    /// A block ClickHouse has acknowledged.
    func removeBlock(_ path: String) {
        unlink(path)
    }

    /// Removes a sealed epoch: every block is in ClickHouse, or its checkpoint never completed.
    func remove(_ epoch: UInt64) throws {
        try DurableFile.removeTree(sealedDirectory(epoch))
        try DurableFile.syncDirectory(directory)
    }
}

func posixError(_ action: String, _ path: String) -> ClickHouseError {
    ClickHouseError.local("cannot \(action) \(path): \(String(cString: strerror(errno)))")
}
