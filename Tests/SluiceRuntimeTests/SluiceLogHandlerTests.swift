import Logging
import PluginTestSupport
import XCTest
@testable import SluiceRuntime

/// The two log formats: the text lines people read and the JSON lines collectors parse.
final class SluiceLogHandlerTests: XCTestCase {
    private let stamp = "2026-11-26T09:13:14.123Z"

    func testTextLinesKeepTheOperatorInFrontAndOtherMetadataAfter() {
        let handler = SluiceLogHandler(label: "worker[42]", format: .text, level: .info)
        XCTAssertEqual(handler.render(level: .info, message: "3 rows rejected", metadata: ["operator": "parse"], timestamp: stamp),
                       "2026-11-26T09:13:14.123Z INFO  worker[42]: parse: 3 rows rejected\n")
        XCTAssertEqual(handler.render(level: .warning, message: "slow", metadata: ["b": "2", "a": "1"], timestamp: stamp),
                       "2026-11-26T09:13:14.123Z WARN  worker[42]: slow a=1 b=2\n")
    }

    func testJSONLinesAreOneObjectEachWithEveryFieldEscaped() throws {
        let handler = SluiceLogHandler(label: "worker[42]", format: .json, level: .info)
        let line = handler.render(level: .error, message: "bad \"row\"\n\tat \u{1}", metadata: ["operator": "sink"], timestamp: stamp)
        XCTAssertTrue(line.hasSuffix("}\n"))
        XCTAssertEqual(line.filter { $0 == "\n" }.count, 1, "one line per entry")
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
        XCTAssertEqual(object, ["ts": stamp, "level": "error", "logger": "worker[42]", "operator": "sink", "message": "bad \"row\"\n\tat \u{1}"])
    }

    func testTheLevelThresholdAndTheLevelNames() {
        XCTAssertEqual(SluiceLogHandler.level(named: "WARN"), .warning)
        XCTAssertEqual(SluiceLogHandler.level(named: "debug"), .debug)
        XCTAssertNil(SluiceLogHandler.level(named: "loud"))
        let lines = CapturedLines()
        var logger = Logger(label: "t") { SluiceLogHandler(label: $0, format: .text, level: .warning, write: { lines.append($0) }) }
        logger.info("hidden")
        logger.warning("shown")
        logger.logLevel = .debug
        logger.debug("now shown")
        let written = lines.text.split(separator: "\n")
        XCTAssertEqual(written.count, 2)
        XCTAssertTrue(written[0].contains("WARN  t: shown"), lines.text)
    }
}
