import DurableFiles
import Foundation
import XCTest

/// The durable-file helper, including what a crash between its steps leaves behind: the old
/// file or the new one, never a torn one, and nothing that blocks the next attempt.
final class DurableFileTests: XCTestCase {
    private var root = ""

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "durable-\(UUID().uuidString)"
        try DurableFile.makeDirectories(root)
    }

    override func tearDown() { try? DurableFile.removeTree(root) }

    private func text(_ path: String) throws -> String { String(decoding: try DurableFile.read(path), as: UTF8.self) }

    func testReplaceWritesTheNewContentAndLeavesNoTemporary() throws {
        let path = root + "/state"
        try DurableFile.replace(path, bytes: Array("one".utf8))
        try DurableFile.replace(path, bytes: Array("two".utf8))
        XCTAssertEqual(try text(path), "two")
        XCTAssertEqual(try DurableFile.list(root), ["state"])
    }

    func testACrashBeforeTheRenameLeavesTheOldFileAndDoesNotBlockTheNextReplace() throws {
        let path = root + "/state"
        try DurableFile.replace(path, bytes: Array("old".utf8))
        // The first steps of a replace, then the crash: the temporary is written and synced.
        try DurableFile.createAndSync(path + ".tmp", bytes: Array("half-way".utf8))
        XCTAssertEqual(try text(path), "old", "a reader after the crash sees the old file whole")
        try DurableFile.replace(path, bytes: Array("new".utf8))
        XCTAssertEqual(try text(path), "new")
        XCTAssertFalse(DurableFile.exists(path + ".tmp"))
    }

    func testACrashWhileWritingTheTemporaryLeavesTheOldFile() throws {
        let path = root + "/state"
        try DurableFile.replace(path, bytes: Array("old".utf8))
        // A torn temporary: created and partly written, never synced or renamed.
        let descriptor = try DurableFile.openTruncated(path + ".tmp")
        try Array("tor".utf8).withUnsafeBytes { try DurableFile.writeAll(descriptor, $0, path: path + ".tmp") }
        close(descriptor)
        XCTAssertEqual(try text(path), "old")
        try DurableFile.replace(path, bytes: Array("new".utf8))
        XCTAssertEqual(try text(path), "new")
    }

    func testRenameDurablyMovesTheFileAndCreateAndSyncRefusesToOverwrite() throws {
        try DurableFile.createAndSync(root + "/a", bytes: [1, 2, 3])
        XCTAssertThrowsError(try DurableFile.createAndSync(root + "/a", bytes: [4])) { error in
            XCTAssertEqual((error as? DurableFileError)?.code, EEXIST)
        }
        try DurableFile.renameDurably(root + "/a", to: root + "/b")
        XCTAssertFalse(DurableFile.exists(root + "/a"))
        XCTAssertEqual(try DurableFile.read(root + "/b"), [1, 2, 3])
    }

    func testCopyReplacesTheDestinationAndAStaleTemporaryDoesNotBlockIt() throws {
        let big = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        try DurableFile.createAndSync(root + "/source", bytes: big)
        try DurableFile.createAndSync(root + "/copy.tmp", bytes: [9])  // a copy interrupted earlier
        try DurableFile.copy(root + "/source", to: root + "/copy")
        XCTAssertEqual(try DurableFile.read(root + "/copy"), big)
        XCTAssertFalse(DurableFile.exists(root + "/copy.tmp"))
    }

    func testRemoveTreeRemovesNestedFoldersAndDoesNotFollowLinks() throws {
        let outside = root + "/outside"
        try DurableFile.makeDirectories(outside)
        try DurableFile.createAndSync(outside + "/keep", bytes: [1])
        try DurableFile.makeDirectories(root + "/tree/a/b")
        try DurableFile.createAndSync(root + "/tree/a/b/file", bytes: [1])
        XCTAssertEqual(symlink(outside, root + "/tree/link"), 0)
        try DurableFile.removeTree(root + "/tree")
        XCTAssertFalse(DurableFile.exists(root + "/tree"))
        XCTAssertTrue(DurableFile.exists(outside + "/keep"), "the link is removed, not what it points to")
        try DurableFile.removeTree(root + "/tree")  // already gone: removed
    }

    func testMakeDirectoriesIsIdempotentAndErrorsNameThePathAndTheReason() throws {
        try DurableFile.makeDirectories(root + "/x/y")
        try DurableFile.makeDirectories(root + "/x/y")
        XCTAssertThrowsError(try DurableFile.read(root + "/missing")) { error in
            let failure = error as? DurableFileError
            XCTAssertEqual(failure?.code, ENOENT)
            XCTAssertTrue(failure?.message.contains(root + "/missing") == true, "\(error)")
            XCTAssertTrue(failure?.message.contains("No such file") == true, "\(error)")
        }
    }

    /// The kernel hands out /proc files a page per read and reports their size as 0; a reader
    /// that stops after the first read loses the rest (the fn plugin then could not find its
    /// own folder in /proc/self/maps when its line came after the first 4 KB).
    func testTextReadsAKernelFileOfSeveralPagesWhole() throws {
        let maps = try XCTUnwrap(DurableFile.text("/proc/self/maps"))
        XCTAssertGreaterThan(maps.utf8.count, 4096, "this process maps enough to fill more than a page")
        // The stack and the kernel's pages lie at the top of the address space: the last lines.
        XCTAssertTrue(maps.contains("[stack]"), String(maps.suffix(500)))
        XCTAssertTrue(maps.hasSuffix("\n"))
        XCTAssertNil(DurableFile.text(root + "/missing"))
    }
}
