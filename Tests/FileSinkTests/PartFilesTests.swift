import Foundation
import XCTest
@testable import FileSink
import PluginKit

/// The file sink's half of the two-phase commit, driven by the kit: rows are visible only after
/// commit, commits are idempotent, and a restore keeps exactly the epochs its checkpoint lists.
final class PartFilesTests: XCTestCase {
    private var root = ""
    private var parts: PartFiles!
    private var commit: TwoPhaseCommit<PartFiles>!

    override func setUp() {
        root = NSTemporaryDirectory() + "filesink-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: root + "/state", withIntermediateDirectories: true)
        (parts, commit) = restarted()
        try! parts.prepareOutputDirectory()
        try! commit.prepare()
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    /// A new sink instance over the same folders, as after a crash.
    private func restarted() -> (PartFiles, TwoPhaseCommit<PartFiles>) {
        let parts = PartFiles(staging: try! Staging(directory: root + "/state"), outputDirectory: root + "/out")
        return (parts, TwoPhaseCommit(store: parts))
    }

    private func partNames() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root + "/out")) ?? []).sorted()
    }

    private func content(_ epoch: UInt64) -> String {
        (try? String(contentsOfFile: parts.partPath(epoch), encoding: .utf8)) ?? ""
    }

    func testRowsBecomeVisibleOnlyAtCommit() throws {
        try parts.files.append(Array("a\n".utf8))
        XCTAssertEqual(try commit.seal(checkpointID: 1), [1])
        XCTAssertEqual(partNames(), [], "sealed is not committed")
        try commit.checkpointComplete(checkpointID: 1)
        XCTAssertEqual(partNames(), [PartFiles.partName(1)])
        XCTAssertEqual(content(1), "a\n")
        XCTAssertEqual(commit.pending, [])
    }

    func testAnEmptyEpochStillGetsItsPartFile() throws {
        XCTAssertEqual(try commit.seal(checkpointID: 1), [1])
        try commit.checkpointComplete(checkpointID: 1)
        XCTAssertEqual(partNames(), [PartFiles.partName(1)])
        XCTAssertEqual(content(1), "")
    }

    func testAbortedEpochIsCommittedWithTheNextCheckpoint() throws {
        try parts.files.append(Array("a\n".utf8))
        _ = try commit.seal(checkpointID: 1)  // checkpoint 1 aborted: nothing committed
        try parts.files.append(Array("b\n".utf8))
        XCTAssertEqual(try commit.seal(checkpointID: 2), [1, 2])
        try commit.checkpointComplete(checkpointID: 2)
        XCTAssertEqual(content(1) + content(2), "a\nb\n")
    }

    func testARestoreAfterTheCommitFindsThePartAndDoesNotCommitAgain() throws {
        try parts.files.append(Array("a\n".utf8))
        let state = try commit.seal(checkpointID: 3)
        try commit.checkpointComplete(checkpointID: 3)
        // A restarted sink restores state that still lists epoch 3: already committed.
        let (_, again) = restarted()
        try again.restore(listing: state)
        XCTAssertEqual(again.pending, [], "the sealed file is gone and the part is there: committed")
        XCTAssertEqual(try again.commitRestored(), [])
        XCTAssertEqual(content(3), "a\n")
        XCTAssertEqual(partNames().count, 1)
    }

    func testRestoreDiscardsEpochsOfCheckpointsThatNeverCompleted() throws {
        try parts.files.append(Array("kept\n".utf8))
        _ = try commit.seal(checkpointID: 4)
        try parts.files.append(Array("replayed\n".utf8))
        _ = try commit.seal(checkpointID: 5)  // checkpoint 5 never completed
        try parts.files.append(Array("unsealed\n".utf8))

        let (_, again) = restarted()
        try again.restore(listing: [4])
        XCTAssertEqual(try again.commitRestored(), [4])
        XCTAssertEqual(partNames(), [PartFiles.partName(4)])
        XCTAssertEqual(content(4), "kept\n")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: root + "/state")
        XCTAssertEqual(leftovers, [], "sealed-5 and current must be gone: the source replays their rows")
    }

    func testAListedEpochWithNeitherSealedFileNorPartIsAClearError() throws {
        let (_, again) = restarted()
        XCTAssertThrowsError(try again.restore(listing: [9])) { error in
            XCTAssertTrue("\(error)".contains("epoch 9 is listed in the checkpoint"), "\(error)")
        }
    }
}
