import Foundation
import XCTest

/// `SLUICE_LOG_FORMAT=json`: every line the supervisor, the worker and the plugins write is one
/// JSON object, and a plugin's lines carry its operator.
final class LogFormatTests: XCTestCase {
    func testJSONLinesFromEveryProcessAndPlugin() throws {
        let dir = makeTemporaryDirectory("logs")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try """
        name: logs
        source: { plugin: \(Built.sequenceSource), config: { count: 500, batch_size: 100 } }
        sink: { plugin: null-sink }
        checkpointing: { interval: 100ms, directory: \(dir)/ck }
        """.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        let result = try runProcess(Built.sluice, ["run", dir + "/p.yaml"], environment: ["SLUICE_LOG_FORMAT": "json"], timeout: 60)
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stderr.split(separator: "\n")
        XCTAssertGreaterThan(lines.count, 3, result.stderr)
        var loggers = Set<String>(), operators = Set<String>()
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
            XCTAssertNotNil(object?["ts"], String(line))
            XCTAssertNotNil(object?["message"], String(line))
            if let logger = object?["logger"] { loggers.insert(String(logger.prefix { $0 != "[" })) }
            if let name = object?["operator"] { operators.insert(name) }
        }
        XCTAssertEqual(loggers, ["supervisor", "worker"], result.stderr)
        XCTAssertEqual(operators, ["sink"], "the null sink logs what it discarded, under its operator: \(result.stderr)")
    }
}
