import Foundation
import PluginKit
import XCTest
@testable import ClickHouseSink

/// The exactly-once staging's layout: blocks sealed as they complete, an epoch sealed as the
/// list of its blocks, blocks of no sealed epoch dropped, and what an earlier version left in
/// its state directory adopted with the same bytes and block indices.
final class NativeStagingTests: XCTestCase {
    private var dir = ""
    override func setUp() { dir = NSTemporaryDirectory() + "native-staging-\(UUID().uuidString.prefix(8))" }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    private func stage(_ staging: NativeStaging, _ text: String) throws {
        try staging.stage(columns: ["value"], rows: 1) { write in try Array(text.utf8).withUnsafeBytes(write) }
    }

    func testEpochsAreListsOfSealedBlocksAndStrayBlocksGo() throws {
        let staging = NativeStaging(staging: try Staging(directory: dir))
        try stage(staging, "a")
        try stage(staging, "b")
        XCTAssertTrue(try staging.seal(7))
        XCTAssertFalse(try staging.seal(8), "an epoch without blocks is not sealed")
        try stage(staging, "c")  // the epoch in progress when the process dies
        let restarted = NativeStaging(staging: try Staging(directory: dir))
        try restarted.discardCurrent()
        XCTAssertEqual(try restarted.sealedEpochs(), [7])
        let (count, blocks) = try restarted.blocks(of: 7)
        XCTAssertEqual(count, 2)
        XCTAssertEqual(blocks.map(\.index), [1, 2])
        XCTAssertEqual(try restarted.stagedBlock(blocks[1].name).bodyLength, 1)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") }
        XCTAssertEqual(names.filter { $0.hasPrefix("block-") }.count, 2, "the unsealed block is gone: \(names)")
        try restarted.removeBlock(blocks[0].name)
        XCTAssertEqual(try restarted.blocks(of: 7).staged.map(\.index), [2], "indices stay when blocks go")
        try restarted.remove(7)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") }, [])
    }

    func testEpochsStagedByAnEarlierVersionAreAdoptedWithTheirBlockIndices() throws {
        let legacy = dir + "/sealed-12"
        try FileManager.default.createDirectory(atPath: legacy, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/current", withIntermediateDirectories: true)
        // Block 1 was inserted and deleted before the upgrade; 2 and 3 are pending.
        for index in [2, 3] {
            try Data("{\"columns\":[\"value\"],\"rows\":\(index)}\nNATIVE\(index)".utf8).write(to: URL(fileURLWithPath: legacy + "/block-00000\(index).native"))
        }
        let staging = NativeStaging(staging: try Staging(directory: dir))
        XCTAssertEqual(try staging.adoptEpochs(leftIn: dir), [12])
        XCTAssertFalse(FileManager.default.fileExists(atPath: legacy))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/current"))
        XCTAssertEqual(try staging.sealedEpochs(), [12])
        let (count, blocks) = try staging.blocks(of: 12)
        XCTAssertEqual(count, 3)
        XCTAssertEqual(blocks.map(\.index), [2, 3])
        let block = try staging.stagedBlock(blocks[1].name)
        XCTAssertEqual(block.rows, 3)
        XCTAssertEqual(try staging.staging.readAll(blocks[1].name).suffix(block.bodyLength), Array("NATIVE3".utf8))
        XCTAssertEqual(try staging.adoptEpochs(leftIn: dir), [], "once")
    }
}
