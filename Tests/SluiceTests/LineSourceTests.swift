import Foundation
import XCTest

/// The line source replays a file's lines as payloads, in order, `repeat` times.
final class LineSourceTests: XCTestCase {
    func testReplaysEveryLineInOrder() throws {
        let dir = makeTemporaryDirectory("lines")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "first\nsecond é\n\nthird".write(toFile: dir + "/in.txt", atomically: true, encoding: .utf8)
        try """
        name: lines
        source: { plugin: line-source, config: { path: \(dir)/in.txt, repeat: 2, batch_size: 2 } }
        sink: { plugin: file-sink, config: { directory: \(dir)/out } }
        checkpointing: { interval: off, directory: \(dir)/ck }
        """.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        let result = try runProcess(Built.sluice, ["run", dir + "/p.yaml"], timeout: 60)
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = try FileManager.default.contentsOfDirectory(atPath: dir + "/out").sorted().flatMap {
            try String(contentsOfFile: dir + "/out/" + $0, encoding: .utf8).split(separator: "\n").map(String.init)
        }
        XCTAssertEqual(lines, ["first", "second é", "third", "first", "second é", "third"].map { #"{"payload":"\#($0)"}"# })

        let missing = try runProcess(Built.sluice, ["validate", dir + "/p.yaml"], environment: [:])
        XCTAssertEqual(missing.status, 0, missing.output)
        XCTAssertTrue(missing.stdout.contains("emits: payload binary"), missing.stdout)
    }
}
