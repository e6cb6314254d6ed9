import XCTest
@testable import SluiceCore
@testable import SluiceRuntime

final class CheckpointStoreSavepointTests: XCTestCase {
    private var scratch: CheckpointScratchDirectory!
    private var store: CheckpointStore!

    override func setUpWithError() throws {
        scratch = try CheckpointScratchDirectory()
        store = try CheckpointStore(directory: scratch.path)
    }

    override func tearDown() {
        scratch.remove()
    }

    // MARK: Writing

    func testSavepointIsWrittenByNameAndNotUsedAsACheckpoint() throws {
        let manifest = CheckpointFixtures.manifest(id: 4, kind: .savepoint(name: "before-upgrade_1.2"))
        let path = try store.write(manifest)
        XCTAssertEqual(path, scratch.path + "/savepoints/before-upgrade_1.2.ckpt")
        XCTAssertEqual(try store.savepoint(named: "before-upgrade_1.2"), manifest)
        XCTAssertNil(try store.newestValidCheckpoint())
    }

    func testOverwritingASavepointIsRefused() throws {
        let original = CheckpointFixtures.manifest(id: 1, kind: .savepoint(name: "keep"))
        let path = try store.write(original)
        XCTAssertThrowsError(try store.write(CheckpointFixtures.manifest(id: 2, kind: .savepoint(name: "keep")))) { error in
            let message = String(describing: error)
            XCTAssertTrue(message.contains("already exists"), message)
            XCTAssertTrue(message.contains(path), message)
        }
        XCTAssertEqual(try store.savepoint(named: "keep"), original)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/savepoints"), ["keep.ckpt"])
    }

    func testInvalidSavepointNamesAreRefused() {
        for bad in ["", "a/b", "../up", ".hidden", "with space", "ü", String(repeating: "x", count: 129)] {
            XCTAssertThrowsError(try store.write(CheckpointFixtures.manifest(id: 1, kind: .savepoint(name: bad))), bad) { error in
                XCTAssertTrue(String(describing: error).contains("invalid savepoint name"), "\(error)")
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: scratch.path + "/savepoints"), [])
    }

    // MARK: Reading

    func testMissingSavepointErrorListsTheAvailableOnes() throws {
        XCTAssertThrowsError(try store.savepoint(named: "nope")) { error in
            XCTAssertTrue(String(describing: error).contains("there are none"), "\(error)")
        }
        try store.write(CheckpointFixtures.manifest(id: 1, kind: .savepoint(name: "beta")))
        try store.write(CheckpointFixtures.manifest(id: 2, kind: .savepoint(name: "alpha")))
        XCTAssertThrowsError(try store.savepoint(named: "nope")) { error in
            let message = String(describing: error)
            XCTAssertTrue(message.contains("no savepoint named \"nope\""), message)
            XCTAssertTrue(message.contains("available: alpha, beta"), message)
        }
    }

    func testCorruptSavepointErrorNamesThePathAndReason() throws {
        let path = try store.write(CheckpointFixtures.manifest(id: 1, kind: .savepoint(name: "broken")))
        try CheckpointFixtures.flipByte(path, at: 50)
        XCTAssertThrowsError(try store.savepoint(named: "broken")) { error in
            let message = String(describing: error)
            XCTAssertTrue(message.contains(path), message)
            XCTAssertTrue(message.contains("corrupt"), message)
        }
        let entry = try XCTUnwrap(try store.entries().first)
        XCTAssertEqual(entry.kind, .savepoint)
        XCTAssertNil(entry.id)
        XCTAssertNil(entry.manifest)
    }
}
