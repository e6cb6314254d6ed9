import XCTest
@testable import SluiceArrow

final class ArrowFormatTests: XCTestCase {
    static let known: [(String, ArrowFormat)] = [
        ("b", .boolean),
        ("c", .int8), ("s", .int16), ("i", .int32), ("l", .int64),
        ("C", .uint8), ("S", .uint16), ("I", .uint32), ("L", .uint64),
        ("f", .float32), ("g", .float64),
        ("u", .utf8), ("z", .binary),
        ("tdD", .date32),
        ("+s", .structure),
        ("tss:", .timestamp(.seconds, timeZone: "")),
        ("tsm:UTC", .timestamp(.milliseconds, timeZone: "UTC")),
        ("tsu:", .timestamp(.microseconds, timeZone: "")),
        ("tsn:Europe/Berlin", .timestamp(.nanoseconds, timeZone: "Europe/Berlin")),
        ("tsu:+07:00", .timestamp(.microseconds, timeZone: "+07:00")),
    ]

    func testEveryKnownFormatStringParses() {
        for (string, format) in Self.known {
            XCTAssertEqual(ArrowFormat(string), format, string)
        }
    }

    func testEveryKnownFormatRoundTripsThroughFormatString() {
        for (string, format) in Self.known {
            XCTAssertEqual(format.formatString, string)
            XCTAssertEqual(ArrowFormat(format.formatString), format, string)
        }
    }

    func testTimestampUnitsAndTimeZones() {
        XCTAssertEqual(ArrowFormat("tsm:UTC"), .timestamp(.milliseconds, timeZone: "UTC"))
        XCTAssertEqual(ArrowFormat("tsu:"), .timestamp(.microseconds, timeZone: ""))
        XCTAssertNotEqual(ArrowFormat("tsu:"), .timestamp(.microseconds, timeZone: "UTC"))
        XCTAssertNotEqual(ArrowFormat("tsm:UTC"), .timestamp(.microseconds, timeZone: "UTC"))
        for unit in [ArrowFormat.TimeUnit.seconds, .milliseconds, .microseconds, .nanoseconds] {
            for zone in ["", "UTC", "America/New_York", "-03:30"] {
                let format = ArrowFormat.timestamp(unit, timeZone: zone)
                XCTAssertEqual(format.formatString, "ts\(unit.rawValue):\(zone)")
                XCTAssertEqual(ArrowFormat(format.formatString), format)
                XCTAssertEqual(format.byteWidth, 8)
            }
        }
    }

    func testUnknownFormatsAreUnsupportedAndKeepTheirString() {
        for string in ["", "x", "n", "U", "Z", "e", "tdm", "tts", "tDs", "ts", "tsm", "tsx:UTC", "tsmUTC", "tsm-UTC",
                       "d:10,2", "w:16", "+l", "+L", "+m", "vu", "bb", "ii", "B", "T"] {
            XCTAssertEqual(ArrowFormat(string), .unsupported(string), string)
            XCTAssertEqual(ArrowFormat(string).formatString, string)
            XCTAssertNil(ArrowFormat(string).byteWidth, string)
            XCTAssertFalse(ArrowFormat(string).isVariableWidth, string)
        }
    }

    func testByteWidths() {
        let expected: [(ArrowFormat, Int?)] = [
            (.boolean, nil),
            (.int8, 1), (.uint8, 1),
            (.int16, 2), (.uint16, 2),
            (.int32, 4), (.uint32, 4), (.float32, 4), (.date32, 4),
            (.int64, 8), (.uint64, 8), (.float64, 8), (.timestamp(.nanoseconds, timeZone: "UTC"), 8),
            (.utf8, nil), (.binary, nil), (.structure, nil), (.unsupported("x"), nil),
        ]
        for (format, width) in expected {
            XCTAssertEqual(format.byteWidth, width, format.formatString)
        }
    }

    func testOnlyUtf8AndBinaryAreVariableWidth() {
        for (_, format) in Self.known {
            XCTAssertEqual(format.isVariableWidth, format == .utf8 || format == .binary, format.formatString)
        }
    }

    func testTypeNamesParseBackToTheirFormatWithAliasesAndTheZoneKeepsItsCase() {
        let formats: [ArrowFormat] = [.boolean, .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64, .float32, .float64,
                                      .utf8, .binary, .date32, .timestamp(.seconds, timeZone: ""), .timestamp(.milliseconds, timeZone: "UTC"),
                                      .timestamp(.microseconds, timeZone: "Europe/Paris"), .timestamp(.nanoseconds, timeZone: "")]
        for format in formats {
            XCTAssertEqual(ArrowFormat(typeName: format.typeName), format, format.typeName)
        }
        XCTAssertEqual(ArrowFormat(typeName: "String"), .utf8)
        XCTAssertEqual(ArrowFormat(typeName: "double"), .float64)
        XCTAssertEqual(ArrowFormat(typeName: "Timestamp[MS, UTC]"), .timestamp(.milliseconds, timeZone: "UTC"))
        for bad in ["", "int", "timestamp", "timestamp[m]", "struct", "list<int64>"] {
            XCTAssertNil(ArrowFormat(typeName: bad), bad)
        }
    }
}
