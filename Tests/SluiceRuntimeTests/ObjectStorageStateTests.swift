import Foundation
import ObjectStore
import ServiceTestSupport
import SluiceCore
import XCTest
@testable import SluiceRuntime

/// Checkpoints, savepoints and operators' staging on an S3-compatible store (moto_server on
/// loopback): what the local directory guarantees holds on S3 too.
final class ObjectStorageStateTests: XCTestCase {
    nonisolated(unsafe) static var server: ObjectStoreServer?

    override class func setUp() {
        super.setUp()
        do { server = try ObjectStoreServer() } catch { XCTFail("\(error)") }
    }

    override class func tearDown() { server = nil }

    private var bucket = ""
    private var storage: S3CheckpointStorage!
    private var local = ""

    override func setUpWithError() throws {
        let server = try XCTUnwrap(Self.server)
        bucket = "state-\(UUID().uuidString.prefix(8).lowercased())"
        try server.createBucket(bucket)
        storage = try Self.open("s3://\(bucket)/pipelines/orders")
        local = NSTemporaryDirectory() + "sluice-s3-local-\(UUID().uuidString.prefix(8))"
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: local) }

    /// Keys given here, never through the process environment the other tests' children inherit.
    static let environment = ["AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"]

    static func open(_ url: String, attempts: Int? = nil) throws -> S3CheckpointStorage {
        try S3CheckpointStorage.open(directory: url, settings: ObjectStoreSettings(endpoint: server!.endpoint, region: "us-east-1"),
                                     attempts: attempts, environment: environment)
    }

    private var store: CheckpointStore { CheckpointStore(storage: storage, localDirectory: local) }

    func testCheckpointsAreListedPrunedAndSavepointsNeverReplacedOrPruned() throws {
        XCTAssertNil(try store.newestValidCheckpoint())
        for id in 1...5 { try store.write(CheckpointFixtures.manifest(id: UInt64(id))) }
        let path = try store.write(CheckpointFixtures.manifest(id: 3, kind: .savepoint(name: "before-upgrade")))
        XCTAssertEqual(path, "s3://\(bucket)/pipelines/orders/savepoints/before-upgrade.ckpt")
        XCTAssertThrowsError(try store.write(CheckpointFixtures.manifest(id: 6, kind: .savepoint(name: "before-upgrade")))) { error in
            XCTAssertTrue("\(error)".contains("savepoint \"before-upgrade\" already exists"), "\(error)")
        }
        XCTAssertEqual(try store.savepoint(named: "before-upgrade").id, 3, "the first savepoint of that name stays")
        XCTAssertEqual(try store.newestValidCheckpoint()?.manifest.id, 5)
        XCTAssertEqual(try store.entries().map(\.id), [5, 4, 3, 2, 1, 3])
        XCTAssertEqual(try store.highestCheckpointID(), 5)

        let deleted = try store.prune(retaining: 2)
        XCTAssertEqual(deleted.count, 3)
        XCTAssertEqual(try Self.server!.keys(bucket, prefix: "pipelines/orders/").sorted(), [
            "pipelines/orders/checkpoints/chk-00000000000000000004.ckpt",
            "pipelines/orders/checkpoints/chk-00000000000000000005.ckpt",
            "pipelines/orders/savepoints/before-upgrade.ckpt",
        ])
    }

    func testACorruptOrPartialNewestCheckpointIsSkippedLoudly() throws {
        try store.write(CheckpointFixtures.manifest(id: 1))
        try store.write(CheckpointFixtures.manifest(id: 2))
        try store.write(CheckpointFixtures.manifest(id: 3))
        let bytes = try XCTUnwrap(try storage.read("checkpoints/chk-00000000000000000003.ckpt"))
        var flipped = bytes
        flipped[flipped.count / 2] ^= 0x40
        try storage.replace("checkpoints/chk-00000000000000000003.ckpt", bytes: flipped)
        try storage.replace("checkpoints/chk-00000000000000000004.ckpt", bytes: Array(bytes.prefix(20)))
        let newest = try XCTUnwrap(try store.newestValidCheckpoint())
        XCTAssertEqual(newest.manifest.id, 2)
        XCTAssertEqual(newest.skipped.map(\.id), [4, 3])
        for entry in newest.skipped {
            guard case .invalid(let reason) = entry.status else { return XCTFail("\(entry)") }
            XCTAssertFalse(reason.isEmpty)
        }
        XCTAssertEqual(try store.highestCheckpointID(), 4, "ids never repeat, even past corrupt checkpoints")
    }

    func testRecordsAndEveryInstancesSavepointsUnderOnePrefix() throws {
        let folders = InstanceFolders(storage: storage, localDirectory: local)
        for instance in 0..<3 {
            let layout = PipelineLayout(instance: instance, instances: 3, parallelism: 1)
            let own = try folders.store(layout)
            XCTAssertEqual(own.directory, "s3://\(bucket)/pipelines/orders/instance-\(instance)/")
            try own.write(CheckpointFixtures.manifest(id: UInt64(10 + instance), kind: .savepoint(name: "rescale")))
            try InstanceFolders.writeStartRecord(.init(savepoint: "rescale", checkpointed: instance == 1), in: own)
        }
        XCTAssertEqual(try folders.savepoints(named: "rescale").map(\.id), [10, 11, 12])
        XCTAssertEqual(try folders.savepoints(named: "other").count, 0)
        let second = try folders.store(PipelineLayout(instance: 1, instances: 3, parallelism: 1))
        XCTAssertEqual(InstanceFolders.readStartRecord(in: second), .init(savepoint: "rescale", checkpointed: true))
        XCTAssertEqual(second.localDirectory, local + "/instance-1")
    }

    func testStagedObjectsSmallLargeAndAbandoned() throws {
        let root = S3Location(bucket: bucket, prefix: "pipelines/orders/operators/sink.clickhouse-sink")
        let area = try S3StagingArea(client: storage.stagingClient, root: root, partSize: 5 << 20)
        XCTAssertEqual(area.location, "s3://\(bucket)/pipelines/orders/operators/sink.clickhouse-sink/")

        let small = try area.makeWriter(name: nil)
        try [UInt8]("hello".utf8).withUnsafeBytes { try small.write($0) }
        XCTAssertEqual(try area.list().count, 0, "nothing visible before the seal")
        try small.seal(as: "sealed-1.msgs")

        let large = (0..<(11 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        for (name, atCreation) in [("sealed-2.msgs", false), ("block-x-1.native", true)] {
            let writer = try area.makeWriter(name: atCreation ? name : nil)
            var offset = 0
            while offset < large.count {
                let end = min(large.count, offset + 700_000)
                try large[offset..<end].withUnsafeBytes { try writer.write($0) }
                offset = end
            }
            XCTAssertEqual(try storage.stagingClient.incompleteUploads(root).count, 1, "streamed as a multipart upload")
            try writer.seal(as: atCreation ? nil : name)
        }
        let abandoned = try area.makeWriter(name: "block-x-2.native")
        try large.withUnsafeBytes { try abandoned.write($0) }
        abandoned.abandon()

        XCTAssertEqual(try area.list().map(\.name), ["block-x-1.native", "sealed-1.msgs", "sealed-2.msgs"])
        XCTAssertEqual(try area.list().map(\.size), [large.count, 5, large.count])
        XCTAssertEqual(try storage.stagingClient.incompleteUploads(root).count, 0)
        XCTAssertEqual(try Self.server!.keys(bucket, prefix: root.prefix + ".pending/"), [], "the copy source is gone")
        var buffer = [UInt8](repeating: 0, count: 1000)
        let read = try buffer.withUnsafeMutableBytes { try area.read("sealed-2.msgs", offset: 6 << 20, into: $0) }
        XCTAssertEqual(read, 1000)
        XCTAssertEqual(buffer, Array(large[(6 << 20)..<((6 << 20) + 1000)]))
        XCTAssertNil(try area.size("sealed-9.msgs"))

        // A writer that crashed mid-upload leaves an upload and a pending object: the next
        // opening of the area removes both.
        _ = try storage.stagingClient.createMultipartUpload(root, key: "block-y-1.native")
        try storage.stagingClient.put(root, key: ".pending/leftover", body: [1])
        _ = try S3StagingArea(client: storage.stagingClient, root: root, partSize: 5 << 20)
        XCTAssertEqual(try storage.stagingClient.incompleteUploads(root).count, 0)
        XCTAssertEqual(try Self.server!.keys(bucket, prefix: root.prefix + ".pending/"), [])
        try area.remove("sealed-1.msgs")
        try area.remove("sealed-1.msgs")
        XCTAssertEqual(try area.list().map(\.name), ["block-x-1.native", "sealed-2.msgs"])
    }

    /// What a process sealed is read back from its local copy; a new process starts with an
    /// empty cache and reads the store.
    func testSealedObjectsAreReadFromTheLocalCopyOfTheProcessThatSealedThem() throws {
        let root = S3Location(bucket: bucket, prefix: "pipelines/orders/operators/sink.file-sink")
        let cache = local + "/staging-cache/sink.file-sink"
        let area = try S3StagingArea(client: storage.stagingClient, root: root, partSize: 5 << 20, cache: cache)
        let large = (0..<(6 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        for (name, bytes) in [("sealed-1.jsonl", Array("small".utf8)), ("sealed-2.jsonl", large)] {
            let writer = try area.makeWriter(name: nil)
            try bytes.withUnsafeBytes { try writer.write($0) }
            try writer.seal(as: name)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache).sorted(), ["sealed-1.jsonl", "sealed-2.jsonl"], "no temp file left")
        // Gone from the store behind the area's back: still read, from the copy.
        try storage.stagingClient.delete(root, key: "sealed-2.jsonl")
        XCTAssertEqual(try area.size("sealed-2.jsonl"), large.count)
        var buffer = [UInt8](repeating: 0, count: 100)
        XCTAssertEqual(try buffer.withUnsafeMutableBytes { try area.read("sealed-2.jsonl", offset: 5 << 20, into: $0) }, 100)
        XCTAssertEqual(buffer, Array(large[(5 << 20)..<((5 << 20) + 100)]))
        try area.remove("sealed-1.jsonl")
        XCTAssertFalse(FileManager.default.fileExists(atPath: cache + "/sealed-1.jsonl"))

        let restarted = try S3StagingArea(client: storage.stagingClient, root: root, partSize: 5 << 20, cache: cache)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache), [], "a new process starts with an empty cache")
        XCTAssertNil(try restarted.size("sealed-2.jsonl"), "and asks the store")
        let abandoned = try restarted.makeWriter(name: "x")
        try large.withUnsafeBytes { try abandoned.write($0) }
        abandoned.abandon()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cache), [], "an abandoned writer leaves no copy")
    }

    /// A store that does not answer fails the write (the checkpoint aborts) with one line,
    /// and is never taken for an empty one when listing.
    func testAnUnreachableStoreIsAnErrorNotAnEmptyStore() throws {
        let unreachable = try S3CheckpointStorage.open(directory: "s3://\(bucket)/x", settings: ObjectStoreSettings(endpoint: "http://127.0.0.1:\(freePort())"),
                                                       attempts: 2, environment: Self.environment)
        let store = CheckpointStore(storage: unreachable, localDirectory: local)
        XCTAssertThrowsError(try store.newestValidCheckpoint()) { error in
            XCTAssertTrue("\(error)".contains("unreachable"), "\(error)")
        }
        XCTAssertThrowsError(try store.write(CheckpointFixtures.manifest(id: 1))) { error in
            XCTAssertTrue("\(error)".hasPrefix("checkpoint 1 was not written: writing s3://\(bucket)/x/checkpoints/chk-00000000000000000001.ckpt"), "\(error)")
        }
        XCTAssertThrowsError(try unreachable.checkReachable())
    }
}
