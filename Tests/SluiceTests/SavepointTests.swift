import Foundation
import XCTest

/// Savepoints: taken on SIGUSR1, never pruned, and restorable with --from-savepoint.
final class SavepointTests: XCTestCase {
    private var dir = ""

    override func setUp() { dir = makeTemporaryDirectory("savepoint") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func testSavepointSurvivesRetentionAndIsRestored() throws {
        let path = dir + "/pipeline.yaml"
        try """
        name: savepoints
        source: { plugin: \(Built.sequenceSource), config: { count: 0, batch_size: 100, rate: 20000 } }
        sink: { plugin: file-sink, config: { directory: \(dir)/out } }
        checkpointing: { interval: 100ms, directory: \(dir)/checkpoints, retained: 2 }
        """.write(toFile: path, atomically: true, encoding: .utf8)

        let first = try StartedProcess(Built.sluice, ["run", path])
        try first.waitForLog("checkpoint 2 complete")
        kill(first.pid, SIGUSR1)
        try first.waitForLog("' (checkpoint ")
        let log = first.stderrText
        let name = try XCTUnwrap(log.range(of: "savepoint '").map { log[$0.upperBound...].prefix { $0 != "'" } }).description
        let idText = try XCTUnwrap(log.range(of: "' (checkpoint ").map { log[$0.upperBound...].prefix { $0.isNumber } })
        let savepointID = try XCTUnwrap(Int(idText))
        try first.waitForLog("checkpoint \(savepointID + 4) complete")
        kill(first.pid, SIGTERM)
        XCTAssertEqual(try first.wait(timeout: 30).status, 0)

        let list = try runProcess(Built.sluice, ["checkpoints", "list", dir + "/checkpoints"])
        XCTAssertTrue(list.stdout.contains("savepoint '\(name)'"), "retention must keep savepoints:\n\(list.stdout)")
        XCTAssertEqual(list.stdout.components(separatedBy: " checkpoint ").count - 1, 2, "retained: 2\n\(list.stdout)")

        let second = try StartedProcess(Built.sluice, ["run", path, "--from-savepoint", name])
        try second.waitForLog("restoring checkpoint \(savepointID) from")
        XCTAssertTrue(second.stderrText.contains("(savepoint)"), second.stderrText)
        try second.waitForLog("moved 2 newer checkpoint(s)")
        try second.waitForLog("checkpoint \(savepointID + 7) complete")
        kill(second.pid, SIGTERM)
        XCTAssertEqual(try second.wait(timeout: 30).status, 0)

        let missing = try runProcess(Built.sluice, ["run", path, "--from-savepoint", "no-such-savepoint"], timeout: 30)
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("no-such-savepoint"), missing.stderr)
        XCTAssertTrue(missing.stderr.contains(name), "the error lists the savepoints there are:\n\(missing.stderr)")
    }
}
