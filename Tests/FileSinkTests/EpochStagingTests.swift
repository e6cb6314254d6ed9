import Foundation
import XCTest
@testable import FileSink

/// The file sink's staging: rows are visible only after commit, commits are idempotent, and a
/// restore keeps exactly the epochs its checkpoint lists.
final class EpochStagingTests: XCTestCase {
    private var root = ""
    private var staging: EpochStaging!

    override func setUp() {
        root = NSTemporaryDirectory() + "filesink-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: root + "/state", withIntermediateDirectories: true)
        staging = EpochStaging(stagingDirectory: root + "/state", outputDirectory: root + "/out")
        try! staging.prepareOutputDirectory()
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    private func parts() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root + "/out")) ?? []).sorted()
    }

    private func content(_ epoch: UInt64) -> String {
        (try? String(contentsOfFile: staging.partPath(epoch), encoding: .utf8)) ?? ""
    }

    func testRowsBecomeVisibleOnlyAtCommit() throws {
        try staging.append(Array("a\n".utf8))
        try staging.seal(epoch: 1)
        XCTAssertEqual(parts(), [], "sealed is not committed")
        XCTAssertEqual(staging.pendingEpochs, [1])
        XCTAssertEqual(try staging.commit(upTo: 1), 1)
        XCTAssertEqual(parts(), [EpochStaging.partName(1)])
        XCTAssertEqual(content(1), "a\n")
        XCTAssertEqual(staging.pendingEpochs, [])
    }

    func testAbortedEpochIsCommittedWithTheNextCheckpoint() throws {
        try staging.append(Array("a\n".utf8))
        try staging.seal(epoch: 1)  // checkpoint 1 aborted: nothing committed
        try staging.append(Array("b\n".utf8))
        try staging.seal(epoch: 2)
        XCTAssertEqual(try staging.commit(upTo: 2), 2)
        XCTAssertEqual(content(1) + content(2), "a\nb\n")
    }

    func testCommitIsIdempotentAfterACrashBetweenRenameAndState() throws {
        try staging.append(Array("a\n".utf8))
        try staging.seal(epoch: 3)
        try staging.commit(upTo: 3)
        // A restarted sink restores state that still lists epoch 3: already committed.
        let restarted = EpochStaging(stagingDirectory: root + "/state", outputDirectory: root + "/out")
        restarted.pendingEpochs = [3]
        XCTAssertEqual(try restarted.commit(upTo: 3), 1)
        XCTAssertEqual(content(3), "a\n")
        XCTAssertEqual(parts().count, 1)
    }

    func testRestoreDiscardsEpochsOfCheckpointsThatNeverCompleted() throws {
        try staging.append(Array("kept\n".utf8))
        try staging.seal(epoch: 4)
        try staging.append(Array("replayed\n".utf8))
        try staging.seal(epoch: 5)  // checkpoint 5 never completed
        try staging.append(Array("unsealed\n".utf8))

        let restarted = EpochStaging(stagingDirectory: root + "/state", outputDirectory: root + "/out")
        try restarted.discardUncovered(keeping: [4], restoredCheckpoint: 4)
        restarted.pendingEpochs = [4]
        try restarted.commit(upTo: 4)
        XCTAssertEqual(parts(), [EpochStaging.partName(4)])
        XCTAssertEqual(content(4), "kept\n")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: root + "/state")
        XCTAssertEqual(leftovers, [], "sealed-5 and current must be gone: the source replays their rows")
    }

    func testStateRoundTripAndCorruptStateIsRejected() throws {
        XCTAssertEqual(try EpochStaging.decodeState(EpochStaging.encodeState([1, 2, UInt64.max])), [1, 2, UInt64.max])
        XCTAssertEqual(try EpochStaging.decodeState([]), [])
        XCTAssertThrowsError(try EpochStaging.decodeState([1, 2, 3]))
    }

    func testMissingSealedAndPartIsAClearError() throws {
        staging.pendingEpochs = [9]
        XCTAssertThrowsError(try staging.commit(upTo: 9)) { error in
            XCTAssertTrue("\(error)".contains("epoch 9 is listed in the checkpoint"), "\(error)")
        }
    }
}
