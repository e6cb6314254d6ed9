import XCTest
@testable import SluiceCore
@testable import SluiceRuntime

// MARK: - Shared fixtures for the store tests

/// A fresh directory under the system temp directory, removed by ``remove()``.
struct CheckpointScratchDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-checkpoint-tests-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

enum CheckpointFixtures {
    static func manifest(id: UInt64, kind: CheckpointKind = .checkpoint, state: [UInt8] = [1, 2, 3]) -> CheckpointManifest {
        CheckpointManifest(
            id: id,
            pipeline: "orders",
            kind: kind,
            createdAtMilliseconds: 1_700_000_000_000 + Int64(id),
            operators: [
                OperatorSnapshot(operatorName: "source", plugin: "kafka", state: state),
                OperatorSnapshot(operatorName: "sink", plugin: "file", state: []),
            ]
        )
    }

    static func truncate(_ path: String, by count: Int) throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.dropLast(count).write(to: URL(fileURLWithPath: path))
    }

    static func flipByte(_ path: String, at offset: Int) throws {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[offset] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: path))
    }

    static func create(_ path: String, contents: [UInt8]) {
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(contents)))
    }
}

// MARK: - Writing and finding checkpoints

final class CheckpointStoreTests: XCTestCase {
    private var scratch: CheckpointScratchDirectory!
    private var store: CheckpointStore!

    override func setUpWithError() throws {
        scratch = try CheckpointScratchDirectory()
        store = try CheckpointStore(directory: scratch.path)
    }

    override func tearDown() {
        scratch.remove()
    }

    // MARK: Layout

    func testInitCreatesTheDirectoryLayout() throws {
        let nested = scratch.path + "/a/b"
        let nestedStore = try CheckpointStore(directory: nested)
        XCTAssertEqual(nestedStore.directory, nested)
        for name in ["checkpoints", "savepoints", "operators"] {
            var isDirectory: ObjCBool = false
            XCTAssertTrue(FileManager.default.fileExists(atPath: nested + "/" + name, isDirectory: &isDirectory))
            XCTAssertTrue(isDirectory.boolValue, name)
        }
    }

    func testInitFailsClearlyWhenTheDirectoryIsAFile() {
        let file = scratch.path + "/plain-file"
        CheckpointFixtures.create(file, contents: [1])
        XCTAssertThrowsError(try CheckpointStore(directory: file)) { error in
            XCTAssertTrue(String(describing: error).contains(file), "\(error)")
        }
    }

    func testOperatorStateDirectoryIsCreatedAndNamesAreValidated() throws {
        let path = try store.operatorStateDirectory(for: "window.agg-1")
        XCTAssertEqual(path, scratch.path + "/operators/window.agg-1")
        XCTAssertTrue(FileManager.default.fileExists(atPath: path))
        XCTAssertEqual(try store.operatorStateDirectory(for: "window.agg-1"), path)
        for bad in ["", "..", "../escape", "a/b", ".hidden", "white space"] {
            XCTAssertThrowsError(try store.operatorStateDirectory(for: bad), bad)
        }
    }

    // MARK: Write and restore

    func testWriteThenNewestValidCheckpoint() throws {
        XCTAssertNil(try store.newestValidCheckpoint())
        let first = try store.write(CheckpointFixtures.manifest(id: 1))
        let second = try store.write(CheckpointFixtures.manifest(id: 2, state: [9]))
        XCTAssertEqual(first, scratch.path + "/checkpoints/chk-00000000000000000001.ckpt")
        XCTAssertEqual(second, scratch.path + "/checkpoints/chk-00000000000000000002.ckpt")

        let newest = try XCTUnwrap(try store.newestValidCheckpoint())
        XCTAssertEqual(newest.manifest, CheckpointFixtures.manifest(id: 2, state: [9]))
        XCTAssertEqual(newest.path, second)
        XCTAssertTrue(newest.skipped.isEmpty)
        // Nothing but the final files remains: temp files were renamed away.
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/checkpoints").sorted(),
            ["chk-00000000000000000001.ckpt", "chk-00000000000000000002.ckpt"]
        )
    }

    func testIDsOrderNumericallyBeyondOneDigit() throws {
        for id: UInt64 in [9, 10, 100] {
            try store.write(CheckpointFixtures.manifest(id: id))
        }
        XCTAssertEqual(try store.newestValidCheckpoint()?.manifest.id, 100)
        XCTAssertEqual(try store.entries().map(\.id), [100, 10, 9])
    }

    func testTruncatedNewestFallsBackToPreviousAndIsReported() throws {
        try store.write(CheckpointFixtures.manifest(id: 1))
        let torn = try store.write(CheckpointFixtures.manifest(id: 2))
        try CheckpointFixtures.truncate(torn, by: 10)

        let newest = try XCTUnwrap(try store.newestValidCheckpoint())
        XCTAssertEqual(newest.manifest.id, 1)
        XCTAssertEqual(newest.skipped.map(\.path), [torn])
        XCTAssertEqual(newest.skipped.first?.id, 2)
        guard case let .invalid(reason)? = newest.skipped.first?.status else {
            return XCTFail("expected the torn file to be invalid")
        }
        XCTAssertTrue(reason.contains("truncated"), reason)
    }

    func testFlippedByteInNewestFallsBackToPreviousAndIsReported() throws {
        try store.write(CheckpointFixtures.manifest(id: 1))
        let damaged = try store.write(CheckpointFixtures.manifest(id: 2))
        try CheckpointFixtures.flipByte(damaged, at: 45)

        let newest = try XCTUnwrap(try store.newestValidCheckpoint())
        XCTAssertEqual(newest.manifest.id, 1)
        XCTAssertEqual(newest.skipped.map(\.path), [damaged])
        guard case let .invalid(reason)? = newest.skipped.first?.status else {
            return XCTFail("expected the damaged file to be invalid")
        }
        XCTAssertTrue(reason.contains("corrupt"), reason)
    }

    func testNoValidCheckpointGivesNil() throws {
        let only = try store.write(CheckpointFixtures.manifest(id: 1))
        try CheckpointFixtures.truncate(only, by: 1)
        XCTAssertNil(try store.newestValidCheckpoint())
    }

    func testRenamedCheckpointFileIsInvalid() throws {
        let written = try store.write(CheckpointFixtures.manifest(id: 1))
        let renamed = scratch.path + "/checkpoints/chk-00000000000000000005.ckpt"
        try FileManager.default.moveItem(atPath: written, toPath: renamed)
        XCTAssertNil(try store.newestValidCheckpoint())
        let entry = try XCTUnwrap(try store.entries().first)
        XCTAssertEqual(entry.id, 5)
        guard case let .invalid(reason) = entry.status else { return XCTFail("expected invalid") }
        XCTAssertTrue(reason.contains("its name says checkpoint 5"), reason)
    }

    // MARK: Listing

    func testEntriesListCheckpointsNewestFirstThenSavepoints() throws {
        try store.write(CheckpointFixtures.manifest(id: 1))
        let bad = try store.write(CheckpointFixtures.manifest(id: 2))
        try store.write(CheckpointFixtures.manifest(id: 3, kind: .savepoint(name: "zeta")))
        try store.write(CheckpointFixtures.manifest(id: 4, kind: .savepoint(name: "alpha")))
        try CheckpointFixtures.truncate(bad, by: 3)

        let entries = try store.entries()
        XCTAssertEqual(entries.map(\.kind), [.checkpoint, .checkpoint, .savepoint, .savepoint])
        XCTAssertEqual(entries.map(\.id), [2, 1, 4, 3])
        XCTAssertEqual(entries.map { ($0.path as NSString).lastPathComponent }, [
            "chk-00000000000000000002.ckpt", "chk-00000000000000000001.ckpt", "alpha.ckpt", "zeta.ckpt",
        ])
        XCTAssertNil(entries[0].manifest)
        XCTAssertEqual(entries[1].manifest, CheckpointFixtures.manifest(id: 1))
        XCTAssertEqual(entries[1].sizeBytes, CheckpointCodec.encode(CheckpointFixtures.manifest(id: 1)).count)
        XCTAssertEqual(entries[0].sizeBytes, entries[1].sizeBytes - 3)
        XCTAssertLessThan(abs(entries[1].modified.timeIntervalSinceNow), 60)
    }

    func testTemporaryLeftoversAreIgnoredAndRemovedByWrite() throws {
        try store.write(CheckpointFixtures.manifest(id: 1))
        // What a writer that crashed before its rename leaves: a newer, partial temp file.
        let leftover = scratch.path + "/checkpoints/.tmp-0-CRASHED-chk-00000000000000000002.ckpt"
        let partial = Array(CheckpointCodec.encode(CheckpointFixtures.manifest(id: 2)).prefix(30))
        CheckpointFixtures.create(leftover, contents: partial)
        CheckpointFixtures.create(scratch.path + "/checkpoints/notes.txt", contents: [1])

        XCTAssertEqual(try store.entries().map(\.id), [1])
        let newest = try XCTUnwrap(try store.newestValidCheckpoint())
        XCTAssertEqual(newest.manifest.id, 1)
        XCTAssertTrue(newest.skipped.isEmpty)
        XCTAssertEqual(try store.highestCheckpointID(), 1)

        try store.write(CheckpointFixtures.manifest(id: 2))
        XCTAssertFalse(FileManager.default.fileExists(atPath: leftover))
        XCTAssertTrue(FileManager.default.fileExists(atPath: scratch.path + "/checkpoints/notes.txt"))
        XCTAssertEqual(try store.newestValidCheckpoint()?.manifest.id, 2)
    }

    // MARK: Ids

    func testHighestCheckpointIDCoversCheckpointsSavepointsAndInvalidFiles() throws {
        XCTAssertEqual(try store.highestCheckpointID(), 0)
        try store.write(CheckpointFixtures.manifest(id: 3))
        XCTAssertEqual(try store.highestCheckpointID(), 3)
        try store.write(CheckpointFixtures.manifest(id: 8, kind: .savepoint(name: "release")))
        XCTAssertEqual(try store.highestCheckpointID(), 8)
        let corrupt = try store.write(CheckpointFixtures.manifest(id: 12))
        try CheckpointFixtures.truncate(corrupt, by: 20)
        XCTAssertEqual(try store.highestCheckpointID(), 12)
    }
}
