import DurableFiles
import Glibc
import Foundation
import ObjectStore

/// Staging under an S3 prefix (`<checkpoint prefix>/operators/<operator>/`).
///
/// A writer keeps at most one part in memory: an object that stays under a part is one PUT
/// when sealed; a larger one is a multipart upload, part by part as it is written, completed
/// when sealed (S3 shows an upload's object only once it is completed, which is what makes a
/// seal atomic). An upload whose name was not known at creation goes to `.pending/` and is
/// copied to its name on the store's side when sealed. Uploads and pending objects a crashed
/// writer left are removed when the area is opened.
///
/// Requests that fail for want of an answer are retried with backoff until the store answers
/// (the sink blocks, which holds the pipeline back: backpressure); a refusal fails at once.
///
/// With a `cache` folder, what this process seals is also kept there (written as it is staged,
/// never fsynced: the store holds the durable copy), and reads of it are served locally: a
/// sink that commits what it staged reads nothing back from the store. The cache starts empty
/// with every process, so it never holds what another process may have replaced.
final class S3StagingArea: StagingArea {
    let client: S3Client
    let root: S3Location
    let partSize: Int
    let cache: String?
    var location: String { root.description }
    static let pendingFolder = ".pending/"

    init(client: S3Client, root: S3Location, partSize: Int = 8 << 20, cache: String? = nil) throws {
        self.client = client
        self.root = root
        self.partSize = partSize
        self.cache = cache
        if let cache {
            try DurableFile.removeTree(cache)
            try DurableFile.makeDirectories(cache)
        }
        for upload in try client.incompleteUploads(root) {
            try client.abortMultipartUpload(root, key: upload.key, uploadID: upload.uploadID)
        }
        for object in try client.list(root, prefix: Self.pendingFolder) {
            try client.delete(root, key: object.key)
        }
    }

    func makeWriter(name: String?) throws -> any StagingWriter {
        if let name, let problem = StagedObjectDirectory.problem(withName: name) { throw StagingError(problem) }
        return S3StagingWriter(area: self, name: name)
    }

    /// The cached copy of a sealed object, if this process sealed it.
    func cached(_ name: String) -> String? {
        guard let cache else { return nil }
        let path = cache + "/" + name
        return DurableFile.exists(path) ? path : nil
    }

    func size(_ name: String) throws -> Int? {
        if let path = cached(name) { return try DurableFile.status(path).sizeBytes }
        return try client.size(root, key: name)
    }

    func read(_ name: String, offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if let path = cached(name), let local = try? StagedObjectDirectory.read(path, offset: offset, into: buffer) { return local }
        let bytes = try client.get(root, key: name, offset: offset, length: buffer.count)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
        return bytes.count
    }

    func list() throws -> [(name: String, size: Int)] {
        try client.list(root).filter { !$0.key.contains("/") }.map { ($0.key, $0.size) }
    }

    func remove(_ name: String) throws {
        try client.delete(root, key: name)
        if let path = cached(name) { try? DurableFile.remove(path) }
    }
}

final class S3StagingWriter: StagingWriter {
    private let area: S3StagingArea
    private let name: String?
    private var buffer: [UInt8] = []
    private var upload: (key: String, id: String, parts: [(number: Int, etag: String)])?
    private var finished = false
    /// The local copy being written (see ``S3StagingArea``); -1 without a cache or after a
    /// local write failed (the object is then read from the store).
    private var copy: Int32 = -1
    private let copyPath: String?

    init(area: S3StagingArea, name: String?) {
        self.area = area
        self.name = name
        copyPath = area.cache.map { $0 + "/.tmp-" + UUID().uuidString }
        if let copyPath { copy = (try? DurableFile.openTruncated(copyPath)) ?? -1 }
    }

    deinit { abandon() }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !finished else { throw StagingError("staged object \(name ?? "(unnamed)") was already sealed or abandoned") }
        if copy >= 0, let copyPath, (try? DurableFile.writeAll(copy, bytes, path: copyPath)) == nil { dropCopy() }
        var rest = bytes
        while !rest.isEmpty {
            let take = min(rest.count, area.partSize - buffer.count)
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest.prefix(take)))
            rest = UnsafeRawBufferPointer(rebasing: rest.dropFirst(take))
            if buffer.count == area.partSize { try uploadPart() }
        }
    }

    private func uploadPart() throws {
        if upload == nil {
            let key = name ?? S3StagingArea.pendingFolder + UUID().uuidString
            upload = (key, try area.client.createMultipartUpload(area.root, key: key), [])
        }
        let number = upload!.parts.count + 1
        let etag = try area.client.uploadPart(area.root, key: upload!.key, uploadID: upload!.id, number: number, body: buffer)
        upload!.parts.append((number, etag))
        buffer.removeAll(keepingCapacity: true)
    }

    func seal(as sealName: String?) throws {
        guard !finished else { throw StagingError("staged object \(name ?? "(unnamed)") was already sealed or abandoned") }
        guard let final = sealName ?? name else {
            abandon()
            throw StagingError("a staged object needs a name, at creation or when sealed")
        }
        if let problem = StagedObjectDirectory.problem(withName: final) {
            abandon()
            throw StagingError(problem)
        }
        do {
            guard let started = upload else {
                try area.client.put(area.root, key: final, body: buffer)
                finished = true
                buffer = []
                keepCopy(as: final)
                return
            }
            if !buffer.isEmpty { try uploadPart() }
            try area.client.completeMultipartUpload(area.root, key: started.key, uploadID: started.id, parts: upload!.parts)
            finished = true
            buffer = []
            if started.key != final {
                try area.client.copy(area.root, from: started.key, to: final)
                try area.client.delete(area.root, key: started.key)
            }
            keepCopy(as: final)
        } catch {
            abandon()
            throw error
        }
    }

    func abandon() {
        dropCopy()
        guard !finished else { return }
        finished = true
        buffer = []
        if let upload { try? area.client.abortMultipartUpload(area.root, key: upload.key, uploadID: upload.id) }
    }

    /// The sealed object's local copy takes its name in the cache.
    private func keepCopy(as final: String) {
        guard copy >= 0, let copyPath, let cache = area.cache else { return dropCopy() }
        close(copy)
        copy = -1
        if (try? DurableFile.rename(copyPath, to: cache + "/" + final)) == nil { try? DurableFile.remove(copyPath) }
    }

    private func dropCopy() {
        guard copy >= 0, let copyPath else { return }
        close(copy)
        copy = -1
        try? DurableFile.remove(copyPath)
    }
}

struct StagingError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
