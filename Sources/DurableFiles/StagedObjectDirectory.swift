import Foundation
import Glibc

/// Named, immutable objects as files in one directory: the local form of the ABI's durable
/// staging. An object is written to a hidden temp file and becomes visible on `seal` (fsync,
/// rename, fsync of the directory), so a name always holds a whole object; temp files a crash
/// left behind are removed when the directory is opened.
///
/// Any thread; calls may overlap. A writer is used by one thread at a time.
public final class StagedObjectDirectory: Sendable {
    public let directory: String
    static let temporaryPrefix = ".stage-"

    /// Opens (creating) the directory and removes temp files of writers that crashed.
    public init(directory: String) throws {
        self.directory = directory
        try DurableFile.makeDirectories(directory)
        for name in try DurableFile.list(directory) where name.hasPrefix(Self.temporaryPrefix) {
            try DurableFile.remove(directory + "/" + name)
        }
    }

    /// The one rule for staged object names: 1-200 of `A-Z a-z 0-9 . _ -`, no leading dot.
    public static func problem(withName name: String) -> String? {
        let allowed = name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2E || byte == 0x5F || byte == 0x2D
        }
        guard !name.isEmpty, name.utf8.count <= 200, allowed, !name.hasPrefix(".") else {
            return "'\(name)' is not a staged object name (1-200 characters of A-Z a-z 0-9 . _ -, not starting with '.')"
        }
        return nil
    }

    public final class Writer: @unchecked Sendable {
        // @unchecked: one thread at a time, as the ABI says.
        let owner: StagedObjectDirectory
        let temporaryPath: String
        let name: String?
        private var descriptor: Int32

        init(owner: StagedObjectDirectory, name: String?) throws {
            self.owner = owner
            self.name = name
            temporaryPath = owner.directory + "/" + StagedObjectDirectory.temporaryPrefix + UUID().uuidString
            descriptor = try DurableFile.openTruncated(temporaryPath)
        }

        deinit { abandon() }

        public func write(_ bytes: UnsafeRawBufferPointer) throws {
            guard descriptor >= 0 else { throw DurableFileError(message: "staged object \(name ?? temporaryPath) was already sealed or abandoned", code: EBADF) }
            try DurableFile.writeAll(descriptor, bytes, path: temporaryPath)
        }

        /// Durable under `name` (or the name given at creation) once this returns.
        public func seal(as sealName: String?) throws {
            guard let final = sealName ?? name else {
                abandon()
                throw DurableFileError(message: "a staged object needs a name, at creation or when sealed", code: EINVAL)
            }
            if let problem = StagedObjectDirectory.problem(withName: final) {
                abandon()
                throw DurableFileError(message: problem, code: EINVAL)
            }
            guard descriptor >= 0 else { throw DurableFileError(message: "staged object \(final) was already sealed or abandoned", code: EBADF) }
            let fd = descriptor
            descriptor = -1
            defer { close(fd) }
            do {
                try DurableFile.sync(fd, path: temporaryPath)
                try DurableFile.renameDurably(temporaryPath, to: owner.directory + "/" + final)
            } catch {
                try? DurableFile.remove(temporaryPath)
                throw error
            }
        }

        public func abandon() {
            guard descriptor >= 0 else { return }
            close(descriptor)
            descriptor = -1
            try? DurableFile.remove(temporaryPath)
        }
    }

    public func makeWriter(name: String?) throws -> Writer {
        if let name, let problem = Self.problem(withName: name) { throw DurableFileError(message: problem, code: EINVAL) }
        return try Writer(owner: self, name: name)
    }

    /// The object's size; nil when there is none.
    public func size(_ name: String) throws -> Int? {
        let path = directory + "/" + name
        guard DurableFile.exists(path) else { return nil }
        return try DurableFile.status(path).sizeBytes
    }

    /// Reads into `buffer` from `offset`; the count read, 0 at the end.
    public func read(_ name: String, offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try Self.read(directory + "/" + name, offset: offset, into: buffer)
    }

    /// Reads a file into `buffer` from `offset`; the count read, 0 at the end.
    public static func read(_ path: String, offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw DurableFileError(message: "cannot open \(path): \(String(cString: strerror(errno)))", code: errno) }
        defer { close(fd) }
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw DurableFileError(message: "cannot read \(path): \(String(cString: strerror(errno)))", code: errno) }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Sealed objects, in name order.
    public func list() throws -> [(name: String, size: Int)] {
        // Only regular files with object names: a plugin may keep its own files and folders
        // beside them (the same directory is its state_dir).
        try DurableFile.list(directory).filter { Self.problem(withName: $0) == nil }.sorted().compactMap { name in
            var info = stat()
            guard stat(directory + "/" + name, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
            return (name, Int(info.st_size))
        }
    }

    public func remove(_ name: String) throws {
        let path = directory + "/" + name
        guard DurableFile.exists(path) else { return }
        try DurableFile.remove(path)
        try DurableFile.syncDirectory(directory)
    }
}
