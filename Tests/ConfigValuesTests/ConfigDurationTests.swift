import ConfigValues
import Foundation
import XCTest

/// The one duration grammar of every configuration.
final class ConfigDurationTests: XCTestCase {
    private func parse(_ text: String) -> Duration? { ConfigDuration(text: text)?.duration }

    func testUnitsAndBareNumbers() {
        XCTAssertEqual(parse("250ms"), .milliseconds(250))
        XCTAssertEqual(parse("5s"), .seconds(5))
        XCTAssertEqual(parse("2m"), .seconds(120))
        XCTAssertEqual(parse("1h"), .seconds(3600))
        XCTAssertEqual(parse("1.5s"), .milliseconds(1500))
        XCTAssertEqual(parse("0.1s"), .milliseconds(100))
        XCTAssertEqual(parse("7"), .seconds(7))
        XCTAssertEqual(parse("0s"), .zero)
        XCTAssertEqual(ConfigDuration(text: "1.5s")?.seconds, 1.5)
    }

    func testMalformedDurationsAreRejected() {
        for text in ["", "s", "5x", "-1s", "+1s", "1.s", ".5s", "1.2.3s", "5 s", "5S", "1e3s", "off"] {
            XCTAssertNil(parse(text), text)
        }
        XCTAssertNil(ConfigDuration(seconds: -1))
        XCTAssertNil(ConfigDuration(seconds: .infinity))
    }

    func testDecodingTakesNumbersOfSecondsAndTextAndNamesTheKeyOfABadValue() throws {
        struct Settings: Decodable { var timeout: ConfigDuration }
        func decode(_ json: String) throws -> ConfigDuration { try JSONDecoder().decode(Settings.self, from: Data(json.utf8)).timeout }
        XCTAssertEqual(try decode(#"{"timeout": 0.25}"#).duration, .milliseconds(250))
        XCTAssertEqual(try decode(#"{"timeout": "2m"}"#).duration, .seconds(120))
        for bad in [#""soon""#, "-1", "true"] {
            XCTAssertThrowsError(try decode(#"{"timeout": \#(bad)}"#)) { error in
                guard case DecodingError.dataCorrupted(let context) = error else {
                    if case DecodingError.typeMismatch = error { return }  // true is no duration at all
                    return XCTFail("\(error)")
                }
                XCTAssertEqual(context.codingPath.map(\.stringValue), ["timeout"])
                XCTAssertTrue(context.debugDescription.contains("is not a duration"), context.debugDescription)
            }
        }
    }
}
