import Glibc
import PluginKit

/// The file sink's staging area: one open file for the current epoch, sealed files for epochs
/// waiting for their checkpoint, and the atomic commit into the output directory.
///
/// Called from the sink's operator thread only.
final class EpochStaging {
    let stagingDirectory: String
    let outputDirectory: String
    /// Sealed epochs not yet committed, ascending.
    var pendingEpochs: [UInt64] = []
    private var current: Int32 = -1
    private var currentRows = 0

    init(stagingDirectory: String, outputDirectory: String) {
        self.stagingDirectory = stagingDirectory
        self.outputDirectory = outputDirectory
    }

    deinit { if current >= 0 { Glibc.close(current) } }

    private var currentPath: String { stagingDirectory + "/current.jsonl" }
    private func sealedPath(_ epoch: UInt64) -> String { stagingDirectory + "/sealed-\(epoch).jsonl" }
    func partPath(_ epoch: UInt64) -> String { outputDirectory + "/" + EpochStaging.partName(epoch) }
    static func partName(_ epoch: UInt64) -> String {
        let digits = String(epoch)
        return "part-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".jsonl"
    }

    // MARK: - Epochs

    func prepareOutputDirectory() throws {
        var isDirectory = stat()
        if stat(outputDirectory, &isDirectory) == 0 { return }
        try makeDirectories(outputDirectory)
    }

    /// Opens a fresh staging file; rows left in an unsealed one belong to no checkpoint and
    /// will be replayed by the source, so they are dropped.
    func startEpoch() throws {
        if current >= 0 { return }
        current = Glibc.open(currentPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if current < 0 { throw posixError("open the staging file", currentPath) }
        currentRows = 0
    }

    func append(_ bytes: [UInt8]) throws {
        try startEpoch()
        try bytes.withUnsafeBytes { try DurableFile.writeAll(current, $0, path: currentPath) }
    }

    /// Makes the current epoch durable under its checkpoint id and starts the next one.
    func seal(epoch: UInt64) throws {
        try startEpoch()
        if fsync(current) != 0 { throw posixError("fsync", currentPath) }
        Glibc.close(current)
        current = -1
        if rename(currentPath, sealedPath(epoch)) != 0 { throw posixError("seal the epoch as", sealedPath(epoch)) }
        try DurableFile.syncDirectory(stagingDirectory)
        pendingEpochs.append(epoch)
        try startEpoch()
    }

    func closeEpoch() throws {
        if current >= 0 { Glibc.close(current); current = -1 }
    }

    /// Commits every sealed epoch up to `checkpoint` by an atomic rename into the output
    /// directory. Idempotent: an epoch whose sealed file is gone but whose part exists is done.
    @discardableResult
    func commit(upTo checkpoint: UInt64) throws -> Int {
        var epochs = 0
        while let epoch = pendingEpochs.first, epoch <= checkpoint {
            let sealed = sealedPath(epoch), part = partPath(epoch)
            if access(sealed, F_OK) == 0 {
                if rename(sealed, part) != 0 {
                    guard errno == EXDEV else { throw posixError("commit the epoch to", part) }
                    try copyDurably(sealed, to: part)
                    unlink(sealed)
                }
            } else if access(part, F_OK) != 0 {
                throw PluginError("epoch \(epoch) is listed in the checkpoint but neither \(sealed) nor \(part) exists; the staging folder was changed by hand")
            }
            pendingEpochs.removeFirst()
            epochs += 1
        }
        if epochs > 0 { try DurableFile.syncDirectory(outputDirectory) }
        return epochs
    }

    /// After a restore: removes staged epochs the restored checkpoint does not list (they
    /// belong to checkpoints that never completed; the source replays their rows).
    func discardUncovered(keeping pending: [UInt64], restoredCheckpoint: UInt64) throws {
        try closeEpoch()
        unlink(currentPath)
        guard let dir = opendir(stagingDirectory) else { return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard name.hasPrefix("sealed-"), name.hasSuffix(".jsonl"),
                  let epoch = UInt64(name.dropFirst(7).dropLast(6)) else { continue }
            if !pending.contains(epoch) { unlink(stagingDirectory + "/" + name) }
        }
    }

    // MARK: - State

    static func encodeState(_ epochs: [UInt64]) -> [UInt8] {
        var bytes: [UInt8] = []
        for epoch in epochs { withUnsafeBytes(of: epoch.littleEndian) { bytes.append(contentsOf: $0) } }
        return bytes
    }

    static func decodeState(_ bytes: [UInt8]) throws -> [UInt64] {
        guard bytes.count % 8 == 0 else { throw PluginError("file-sink state has \(bytes.count) bytes, not a multiple of 8") }
        return stride(from: 0, to: bytes.count, by: 8).map { i in
            bytes[i..<i + 8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        }
    }

    // MARK: - POSIX helpers

    private func copyDurably(_ source: String, to destination: String) throws {
        let temporary = destination + ".tmp"
        let input = Glibc.open(source, O_RDONLY | O_CLOEXEC)
        if input < 0 { throw posixError("open", source) }
        defer { Glibc.close(input) }
        let output = Glibc.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if output < 0 { throw posixError("create", temporary) }
        defer { Glibc.close(output) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
            if n < 0 { throw posixError("read", source) }
            if n == 0 { break }
            try buffer.withUnsafeBytes { try DurableFile.writeAll(output, UnsafeRawBufferPointer(rebasing: $0[0..<n]), path: temporary) }
        }
        if fsync(output) != 0 { throw posixError("fsync", temporary) }
        if rename(temporary, destination) != 0 { throw posixError("rename into", destination) }
    }
}



func makeDirectories(_ path: String) throws {
    var prefix = path.hasPrefix("/") ? "" : "."
    for part in path.split(separator: "/") {
        prefix += "/" + part
        if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw posixError("create directory", prefix) }
    }
}

func posixError(_ action: String, _ path: String) -> PluginError {
    PluginError("cannot \(action) \(path): \(String(cString: strerror(errno)))")
}
