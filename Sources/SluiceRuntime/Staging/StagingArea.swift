import DurableFiles
import Foundation

/// One operator's durable staging (the ABI's `sluice_staging_api`): named, immutable objects
/// that become visible whole when sealed. Local: files in a directory beside the checkpoints.
/// S3: objects under the checkpoint prefix (``S3StagingArea``).
///
/// Any thread; calls may overlap. A writer is used by one thread at a time.
protocol StagingArea: AnyObject, Sendable {
    /// A directory or an s3:// URL, for messages.
    var location: String { get }
    func makeWriter(name: String?) throws -> any StagingWriter
    /// nil when there is no such object.
    func size(_ name: String) throws -> Int?
    /// The count read into `buffer` from `offset`; 0 at the end.
    func read(_ name: String, offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// Sealed objects in name order.
    func list() throws -> [(name: String, size: Int)]
    func remove(_ name: String) throws
}

protocol StagingWriter: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Durable and visible as `name` (nil: the name given at creation); the writer is done
    /// afterwards, whatever the outcome.
    func seal(as name: String?) throws
    func abandon()
}

/// Staging in a local directory.
final class LocalStagingArea: StagingArea {
    let objects: StagedObjectDirectory
    var location: String { objects.directory }

    init(directory: String) throws {
        objects = try StagedObjectDirectory(directory: directory)
    }

    func makeWriter(name: String?) throws -> any StagingWriter { try objects.makeWriter(name: name) }
    func size(_ name: String) throws -> Int? { try objects.size(name) }
    func read(_ name: String, offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try objects.read(name, offset: offset, into: buffer)
    }
    func list() throws -> [(name: String, size: Int)] { try objects.list() }
    func remove(_ name: String) throws { try objects.remove(name) }
}

extension StagedObjectDirectory.Writer: StagingWriter {}
