import Foundation
import Glibc

/// Thin POSIX file operations for everything that must survive a crash (checkpoints, a
/// sink's sealed epochs, records beside the checkpoints), used directly (not through
/// Foundation) so that `fsync` really happens on the file and on its directory.
///
/// A durable replacement is: write a temporary file, fsync it, rename it over the target, fsync
/// the directory. A crash between any two steps leaves the old file or the new one, never a
/// torn one: before the rename only the temporary exists; after it, the directory's fsync makes
/// the new name survive power loss (a rename alone lives in the page cache).
///
/// Every failure is a ``DurableFileError`` carrying the operation, the path and
/// `strerror(errno)`. Stateless; any thread may call these.
public enum DurableFile {
    // MARK: Writing

    /// Replaces `path` with `bytes` durably and atomically (see the type's comment). The
    /// temporary is `path` + `.tmp`, removed on failure.
    public static func replace(_ path: String, bytes: [UInt8]) throws {
        let temporary = path + ".tmp"
        try? remove(temporary)
        do {
            try createAndSync(temporary, bytes: bytes)
            try rename(temporary, to: path)
        } catch {
            try? remove(temporary)
            throw error
        }
        try syncDirectory((path as NSString).deletingLastPathComponent)
    }

    /// Renames `source` to `destination` and makes the new name durable (fsync of the
    /// destination's directory): how a staged file is sealed.
    public static func renameDurably(_ source: String, to destination: String) throws {
        try rename(source, to: destination)
        try syncDirectory((destination as NSString).deletingLastPathComponent)
    }

    /// Creates `path`, which must not exist, writes `bytes` and flushes them to stable storage.
    public static func createAndSync(_ path: String, bytes: [UInt8]) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw failure("create", path) }
        do {
            try bytes.withUnsafeBytes { try writeAll(descriptor, $0, path: path) }
            guard fsync(descriptor) == 0 else { throw failure("fsync", path) }
        } catch {
            close(descriptor)
            throw error
        }
        // close can report deferred write errors (for example on network file systems).
        guard close(descriptor) == 0 else { throw failure("close", path) }
    }

    /// Opens `path` for writing, created or emptied: a file appended to and later made
    /// durable with ``sync(_:path:)``.
    public static func openTruncated(_ path: String) throws -> Int32 {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw failure("create", path) }
        return descriptor
    }

    /// Flushes an open file's data to stable storage; `path` names it in errors.
    public static func sync(_ descriptor: Int32, path: String) throws {
        guard fsync(descriptor) == 0 else { throw failure("fsync", path) }
    }

    /// Writes all of `bytes` to the open descriptor `fd` (retrying short writes and EINTR);
    /// `path` names it in errors.
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw failure("write", path)
            }
            offset += written
        }
    }

    /// Moves `source` to `destination`, replacing whatever is there, atomically.
    public static func rename(_ source: String, to destination: String) throws {
        guard Glibc.rename(source, destination) == 0 else { throw failure("rename \(source) to", destination) }
    }

    /// What ``link(_:to:)`` did.
    public enum LinkOutcome {
        case linked
        case destinationExists
        /// The file system has no hard links.
        case unsupported
    }

    /// Gives `source` the additional name `destination` unless that name exists: an atomic
    /// create-if-absent, which rename cannot do since it replaces.
    public static func link(_ source: String, to destination: String) throws -> LinkOutcome {
        if Glibc.link(source, destination) == 0 { return .linked }
        switch errno {
        case EEXIST: return .destinationExists
        case EPERM, EOPNOTSUPP: return .unsupported
        default: throw failure("link \(source) to", destination)
        }
    }

    /// Flushes the directory entry changes (creations, renames) of `directory`.
    public static func syncDirectory(_ directory: String) throws {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure("open directory", directory) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw failure("fsync directory", directory) }
    }

    /// Removes `path`; a file that is already gone counts as removed.
    public static func remove(_ path: String) throws {
        guard unlink(path) == 0 || errno == ENOENT else { throw failure("delete", path) }
    }

    /// Copies `source` to `destination` durably: into a temporary beside the destination,
    /// fsynced, then renamed over it. For a move across file systems, where rename cannot go.
    public static func copy(_ source: String, to destination: String) throws {
        let temporary = destination + ".tmp"
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw failure("open", source) }
        defer { close(input) }
        try? remove(temporary)
        let output = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw failure("create", temporary) }
        do {
            try forEachChunk(input, path: source) { try writeAll(output, $0, path: temporary) }
            guard fsync(output) == 0 else { throw failure("fsync", temporary) }
        } catch {
            close(output)
            try? remove(temporary)
            throw error
        }
        guard close(output) == 0 else { throw failure("close", temporary) }
        try renameDurably(temporary, to: destination)
    }

    /// Creates `path` and every missing folder above it.
    public static func makeDirectories(_ path: String) throws {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            guard mkdir(prefix, 0o755) == 0 || errno == EEXIST else { throw failure("create directory", prefix) }
        }
    }

    /// Removes `path` and, for a folder, everything below it; a path already gone counts as
    /// removed. Symbolic links are removed, never followed.
    public static func removeTree(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw failure("stat", path)
        }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            for name in try list(path) { try removeTree(path + "/" + name) }
            guard rmdir(path) == 0 || errno == ENOENT else { throw failure("delete directory", path) }
        } else {
            try remove(path)
        }
    }

    // MARK: Reading

    /// Reads the whole file.
    public static func read(_ path: String) throws -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure("open", path) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw failure("stat", path) }
        // The size is only a capacity hint; reading to end of file copes with a file that
        // changes size underneath us.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(info.st_size))
        try forEachChunk(descriptor, path: path) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// The whole file as text (invalid UTF-8 repaired), or nil when it cannot be read. Safe for
    /// the kernel's files (`/proc/.../maps`, `/proc/net/tcp`), which report size 0 and hand
    /// out a page per read: Foundation's `String(contentsOfFile:)` stops after the first.
    public static func text(_ path: String) -> String? {
        (try? read(path)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Reads the open descriptor to its end, handing each chunk read to `body`.
    private static func forEachChunk(_ descriptor: Int32, path: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress!, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw failure("read", path)
            }
            if count == 0 { return }
            try chunk.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        }
    }

    /// The names in folder `directory` (without `.` and `..`), in no particular order.
    public static func list(_ directory: String) throws -> [String] {
        guard let stream = opendir(directory) else { throw failure("list", directory) }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Whether anything exists at `path` (a dangling symbolic link counts).
    public static func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    /// Size in bytes and modification time of `path`.
    public static func status(_ path: String) throws -> (sizeBytes: Int, modified: Date) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw failure("stat", path) }
        let modified = Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec) + TimeInterval(info.st_mtim.tv_nsec) / 1e9)
        return (Int(info.st_size), modified)
    }

    // MARK: Errors

    /// Captures `errno` immediately, before anything else can overwrite it.
    static func failure(_ operation: String, _ path: String) -> DurableFileError {
        let code = errno
        return DurableFileError(message: "could not \(operation) \(path): \(String(cString: strerror(code))) (errno \(code))", code: code)
    }
}

/// A file operation that failed: what, where, and the system's reason.
public struct DurableFileError: Error, CustomStringConvertible, Equatable {
    public let message: String
    /// The `errno` of the failed call.
    public let code: Int32
    public var description: String { message }
}
