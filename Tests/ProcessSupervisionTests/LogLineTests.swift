import XCTest
@testable import ProcessSupervision

/// The one log line format of every sluice process.
final class LogLineTests: XCTestCase {
    func testTextAndJSONLines() throws {
        XCTAssertEqual(LogLine.text(timestamp: "T", level: .warn, label: "supervisor[7]", message: "m"), "T WARN  supervisor[7]: m\n")
        let line = LogLine.json([("ts", "T"), ("message", "a \"quoted\" \\ line\nwith\ttabs, \u{1} and é")])
        XCTAssertEqual(line, #"{"ts":"T","message":"a \"quoted\" \\ line\nwith\ttabs, \u0001 and é"}"# + "\n")
        let parsed = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String]
        XCTAssertEqual(parsed?["message"], "a \"quoted\" \\ line\nwith\ttabs, \u{1} and é")
    }

    func testTimestampIsUTCWithMilliseconds() throws {
        let stamp = LogLine.timestamp()
        XCTAssertNotNil(stamp.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"#, options: .regularExpression), stamp)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let date = try XCTUnwrap(formatter.date(from: stamp))
        XCTAssertLessThan(abs(date.timeIntervalSinceNow), 60)
    }

    func testFixedPointNumbersAsPrintfWritesThem() {
        for (value, decimals) in [(0.0, 1), (2.71828, 3), (0.04, 1), (12.0, 2), (-1.26, 1), (3.999, 2), (1234.6, 0), (0.96, 1)] {
            XCTAssertEqual(LogLine.fixed(value, decimals: decimals), String(format: "%.\(decimals)f", value), "\(value)")
        }
        XCTAssertEqual(LogLine.padded(7, 3), "007")
        XCTAssertEqual(LogLine.padded(1234, 3), "1234")
    }

    func testLevelsBySpellingAndOrder() {
        XCTAssertEqual(LogLine.Level(named: "WARNING"), .warn)
        XCTAssertEqual(LogLine.Level(named: "debug"), .debug)
        XCTAssertNil(LogLine.Level(named: "verbose"))
        XCTAssertLessThan(LogLine.Level.info, .warn)
    }
}
