import XCTest
@testable import SluiceCore
@testable import SluiceRuntime

final class CheckpointStorePruneTests: XCTestCase {
    private var scratch: CheckpointScratchDirectory!
    private var store: CheckpointStore!

    override func setUpWithError() throws {
        scratch = try CheckpointScratchDirectory()
        store = try CheckpointStore(directory: scratch.path)
    }

    override func tearDown() {
        scratch.remove()
    }

    // MARK: Retention

    func testPruneKeepsNewestValidAndNeverTouchesSavepoints() throws {
        var paths: [UInt64: String] = [:]
        for id: UInt64 in 1...5 {
            paths[id] = try store.write(CheckpointFixtures.manifest(id: id))
        }
        let savepoint = try store.write(CheckpointFixtures.manifest(id: 0, kind: .savepoint(name: "old")))

        let deleted = try store.prune(retaining: 2)
        XCTAssertEqual(deleted, [paths[3]!, paths[2]!, paths[1]!])
        XCTAssertEqual(try store.entries().compactMap { $0.kind == .checkpoint ? $0.id : nil }, [5, 4])
        XCTAssertTrue(FileManager.default.fileExists(atPath: savepoint))
        XCTAssertEqual(try store.prune(retaining: 2), [])
        XCTAssertEqual(try store.prune(retaining: 10), [])
    }

    func testInvalidFilesNewerThanTheKeptOnesStayAndOlderOnesGo() throws {
        var paths: [UInt64: String] = [:]
        for id: UInt64 in 1...6 {
            paths[id] = try store.write(CheckpointFixtures.manifest(id: id))
        }
        try CheckpointFixtures.truncate(paths[6]!, by: 1)  // newer than every valid one: evidence
        try CheckpointFixtures.flipByte(paths[4]!, at: 40)  // between kept ones: useless
        try CheckpointFixtures.truncate(paths[2]!, by: 1)  // older than kept ones: useless

        let deleted = try store.prune(retaining: 2)
        XCTAssertEqual(Set(deleted), Set([paths[4]!, paths[2]!, paths[1]!]))
        XCTAssertEqual(try store.entries().map(\.id), [6, 5, 3])
        let newest = try XCTUnwrap(try store.newestValidCheckpoint())
        XCTAssertEqual(newest.manifest.id, 5)
        XCTAssertEqual(newest.skipped.map(\.path), [paths[6]!])
    }

    func testRetainingZeroDeletesValidCheckpointsButKeepsInvalidEvidence() throws {
        let valid = try store.write(CheckpointFixtures.manifest(id: 1))
        let invalid = try store.write(CheckpointFixtures.manifest(id: 2))
        try CheckpointFixtures.truncate(invalid, by: 1)
        XCTAssertEqual(try store.prune(retaining: 0), [valid])
        XCTAssertEqual(try store.entries().map(\.path), [invalid])
    }

    func testNegativeRetentionIsRejected() {
        XCTAssertThrowsError(try store.prune(retaining: -1))
    }

    // MARK: Temp files

    func testPruneRemovesTemporaryLeftoversFromCrashedWriters() throws {
        try store.write(CheckpointFixtures.manifest(id: 1))
        let checkpointLeftover = scratch.path + "/checkpoints/.tmp-0-X-chk-00000000000000000002.ckpt"
        let savepointLeftover = scratch.path + "/savepoints/.tmp-0-Y-name.ckpt"
        CheckpointFixtures.create(checkpointLeftover, contents: [1, 2])
        CheckpointFixtures.create(savepointLeftover, contents: [3])

        XCTAssertEqual(Set(try store.prune(retaining: 1)), [checkpointLeftover, savepointLeftover])
        XCTAssertFalse(FileManager.default.fileExists(atPath: checkpointLeftover))
        XCTAssertFalse(FileManager.default.fileExists(atPath: savepointLeftover))
        XCTAssertEqual(try store.newestValidCheckpoint()?.manifest.id, 1)
    }
}
