import Foundation
import PluginKit
import XCTest
@testable import SensorParser

final class SensorParserTests: XCTestCase {
    private func sensors() throws -> ParserHarness { try ParserHarness(["columns": sensorColumns]) }

    func testSampleReadingBecomesOneTypedRow() throws {
        let (batch, rejected) = try sensors().run([sampleReading])
        XCTAssertTrue(rejected.isEmpty, "\(rejected)")
        let view = try batch.view()
        XCTAssertEqual(view.length, 1)
        XCTAssertEqual(view.columns.map(\.name), ["sensor_id", "ts", "temperature", "humidity", "battery", "status", "site", "seq"])
        XCTAssertEqual(view.column(named: "sensor_id")!.string(0), "sensor-0042")
        XCTAssertEqual(view.column(named: "ts")!.format, .timestamp(.milliseconds, timeZone: "UTC"))
        XCTAssertEqual(view.column(named: "ts")!.int64(0), 1_764_100_000_123)
        XCTAssertEqual(view.column(named: "temperature")!.fixed(0, as: Double.self), 21.5)
        XCTAssertEqual(view.column(named: "humidity")!.fixed(0, as: Double.self), 40.2)
        XCTAssertEqual(view.column(named: "battery")!.format, .uint8)
        XCTAssertEqual(view.column(named: "battery")!.int64(0), 87)
        XCTAssertEqual(view.column(named: "site")!.string(0), "plant-3")
        XCTAssertEqual(view.column(named: "seq")!.fixed(0, as: UInt64.self), 12345)
    }

    func testMissingOrNullHumidityIsNullAndMissingStatusTakesItsDefault() throws {
        let (batch, rejected) = try sensors().run([
            #"{"sensor_id":"a","ts":1,"temperature":1,"battery":1,"location":{"site":"s"},"seq":1}"#,
            #"{"sensor_id":"b","ts":2,"temperature":2,"humidity":null,"battery":2,"status":"warn","location":{"site":"s"},"seq":2}"#,
        ])
        XCTAssertTrue(rejected.isEmpty, "\(rejected)")
        let view = try batch.view()
        XCTAssertTrue(view.column(named: "humidity")!.isNull(0))
        XCTAssertTrue(view.column(named: "humidity")!.isNull(1))
        XCTAssertEqual(view.column(named: "status")!.string(0), "unknown")
        XCTAssertEqual(view.column(named: "status")!.string(1), "warn")
        XCTAssertEqual(view.column(named: "temperature")!.fixed(0, as: Double.self), 1.0, "an integer is a valid float")
    }

    func testEveryErrorReason() throws {
        let base = #"{"sensor_id":"a","ts":1,"temperature":1.5,"battery":1,"location":{"site":"s"},"seq":1}"#
        let cases: [([UInt8], String)] = [
            (Array(#"{"sensor_id":"a\#u{FF}"}"#.utf8).map { $0 == 0xC3 ? 0xFF : $0 }, "invalid_utf8"),
            ([0x7B, 0x22, 0x61, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D], "invalid_utf8"),
            (Array("not json".utf8), "invalid_json"),
            (Array(#"{"sensor_id":"a""#.utf8), "invalid_json"),
            (Array((base + "x").utf8), "invalid_json"),
            (Array(#"{"sensor_id":"a\q"}"#.utf8), "invalid_json"),
            (Array("[1,2]".utf8), "invalid_json"),
            (Array("".utf8), "invalid_json"),
            (Array(#"{"ts":1,"temperature":1,"battery":1,"location":{"site":"s"},"seq":1}"#.utf8), "missing_field: 'sensor_id' is required"),
            (Array(#"{"sensor_id":"a","ts":1,"temperature":1,"battery":1,"location":{},"seq":1}"#.utf8), "missing_field: 'location.site' is required"),
            (Array(#"{"sensor_id":null,"ts":1,"temperature":1,"battery":1,"location":{"site":"s"},"seq":1}"#.utf8), "null_value: 'sensor_id'"),
            (Array(#"{"sensor_id":"a","ts":1,"temperature":"hot","battery":1,"location":{"site":"s"},"seq":1}"#.utf8), "wrong_type: 'temperature' must be a number, got a string"),
            (Array(#"{"sensor_id":7,"ts":1,"temperature":1,"battery":1,"location":{"site":"s"},"seq":1}"#.utf8), "wrong_type: 'sensor_id' must be a string, got a number"),
            (Array(#"{"sensor_id":"a","ts":1,"temperature":1,"battery":87.5,"location":{"site":"s"},"seq":1}"#.utf8), "wrong_type: 'battery' must be an integer, got 87.5"),
            (Array(#"{"sensor_id":"a","ts":1,"temperature":1,"battery":300,"location":{"site":"s"},"seq":1}"#.utf8), "out_of_range: 'battery' = 300 does not fit uint8"),
            (Array(#"{"sensor_id":"a","ts":1,"temperature":1,"battery":-1,"location":{"site":"s"},"seq":1}"#.utf8), "out_of_range: 'battery' = -1 does not fit uint8"),
            (Array(#"{"sensor_id":"a","ts":1,"temperature":1,"battery":1,"location":{"site":"s"},"seq":18446744073709551616}"#.utf8), "out_of_range: 'seq'"),
            (Array(#"{"sensor_id":"a","ts":1,"temperature":1e999,"battery":1,"location":{"site":"s"},"seq":1}"#.utf8), "out_of_range: 'temperature'"),
        ]
        let harness = try sensors()
        let (batch, rejected) = try harness.run(cases.map(\.0))
        XCTAssertEqual(try batch.view().length, 0, "no bad message may produce a row")
        XCTAssertEqual(rejected.count, cases.count)
        for (i, (_, expected)) in cases.enumerated() {
            XCTAssertEqual(rejected[i].row, Int64(i))
            XCTAssertTrue(rejected[i].reason.hasPrefix(expected), "case \(i): \(rejected[i].reason) does not start with \(expected)")
        }
    }

    func testEveryTypeAndExtremes() throws {
        let columns: [[String: Any]] = [
            ["name": "i8", "type": "int8"], ["name": "i16", "type": "int16"], ["name": "i32", "type": "int32"], ["name": "i64", "type": "int64"],
            ["name": "u8", "type": "uint8"], ["name": "u16", "type": "uint16"], ["name": "u32", "type": "uint32"], ["name": "u64", "type": "uint64"],
            ["name": "f32", "type": "float32"], ["name": "f64", "type": "float64"], ["name": "b", "type": "bool"], ["name": "s", "type": "string"],
            ["name": "tss", "type": "timestamp", "unit": "s"], ["name": "tsus", "type": "timestamp", "unit": "us"],
            ["name": "iso", "type": "timestamp", "unit": "iso8601"],
        ]
        let harness = try ParserHarness(["columns": columns])
        let (batch, rejected) = try harness.run([
            #"{"i8":-128,"i16":-32768,"i32":-2147483648,"i64":-9223372036854775808,"u8":255,"u16":65535,"u32":4294967295,"u64":18446744073709551615,"f32":3.5,"f64":-1.25e-3,"b":true,"s":"é\n\u00e9\ud83d\ude00\"","tss":1764100000,"tsus":1764100000123456,"iso":"2025-11-25T20:46:40.123+01:00"}"#,
            #"{"i8":127,"i16":32767,"i32":2147483647,"i64":9223372036854775807,"u8":0,"u16":0,"u32":0,"u64":0,"f32":-0.0,"f64":1e300,"b":false,"s":"","tss":0,"tsus":0,"iso":"1970-01-01"}"#,
        ])
        XCTAssertTrue(rejected.isEmpty, "\(rejected)")
        let v = try batch.view()
        func c(_ n: String) -> ArrowColumnView { v.column(named: n)! }
        XCTAssertEqual(c("i8").int64(0), -128); XCTAssertEqual(c("i8").int64(1), 127)
        XCTAssertEqual(c("i16").int64(0), -32768); XCTAssertEqual(c("i32").int64(1), 2_147_483_647)
        XCTAssertEqual(c("i64").int64(0), Int64.min); XCTAssertEqual(c("i64").int64(1), Int64.max)
        XCTAssertEqual(c("u8").int64(0), 255); XCTAssertEqual(c("u16").int64(0), 65535); XCTAssertEqual(c("u32").int64(0), 4_294_967_295)
        XCTAssertEqual(c("u64").fixed(0, as: UInt64.self), UInt64.max)
        XCTAssertEqual(c("f32").format, .float32); XCTAssertEqual(c("f32").fixed(0, as: Float.self), 3.5)
        XCTAssertEqual(c("f64").fixed(0, as: Double.self), -1.25e-3); XCTAssertEqual(c("f64").fixed(1, as: Double.self), 1e300)
        XCTAssertTrue(c("b").bool(0)); XCTAssertFalse(c("b").bool(1))
        XCTAssertEqual(c("s").string(0), "é\né😀\""); XCTAssertEqual(c("s").string(1), "")
        XCTAssertEqual(c("tss").format, .timestamp(.seconds, timeZone: "UTC")); XCTAssertEqual(c("tss").int64(0), 1_764_100_000)
        XCTAssertEqual(c("tsus").format, .timestamp(.microseconds, timeZone: "UTC")); XCTAssertEqual(c("tsus").int64(0), 1_764_100_000_123_456)
        XCTAssertEqual(c("iso").int64(0), 1_764_100_000_123, "19:46:40.123Z")
        XCTAssertEqual(c("iso").int64(1), 0)
    }

    /// `\uXXXX` escapes of every UTF-8 length, surrogate pairs, and lone surrogates (which UTF-8
    /// cannot hold: U+FFFD), in a value and in a key.
    func testUnicodeEscapesOfEveryLength() throws {
        let harness = try ParserHarness(["columns": [["name": "s", "type": "string"], ["name": "k€y", "type": "int64"]]])
        let (batch, rejected) = try harness.run([
            #"{"s":"\u0041\u00e9\u20ac\u5de5\ud83d\ude00|\ud800|\udc00x|\ud83d\u0041|\u0000","k\u20acy":7}"#,
        ])
        XCTAssertTrue(rejected.isEmpty, "\(rejected)")
        let v = try batch.view()
        XCTAssertEqual(v.column(named: "s")!.string(0), "Aé€工😀|\u{FFFD}|\u{FFFD}x|\u{FFFD}A|\u{0}")
        XCTAssertEqual(v.column(named: "k€y")!.int64(0), 7)
    }

    /// Strings are read eight bytes at a time up to the first byte that needs a look: a quote,
    /// a backslash, a control character or a multi-byte sequence. Each of those, at every
    /// position of the word and of the next one, in a skipped value, a read value and a key.
    func testEverySpecialByteAtEveryPositionOfAWord() throws {
        let harness = try ParserHarness(["columns": [["name": "s", "type": "string"], ["name": "n", "type": "int64"]]])
        let specials: [(json: String, text: String)] = [("\\\"", "\""), ("\\\\", "\\"), ("\\n", "\n"), ("é", "é"), ("😀", "😀"), ("\\u00e9", "é")]
        var messages: [String] = [], expected: [String] = []
        for (json, text) in specials {
            for before in 0..<17 {
                let lead = String(repeating: "a", count: before)
                messages.append(#"{"skipped\#(lead)\#(json)x":"\#(lead)\#(json)y","s":"\#(lead)\#(json)z","n\#(json)":1,"n":\#(before)}"#)
                expected.append(lead + text + "z")
            }
        }
        // Not JSON: a raw control character and a byte that starts no UTF-8 sequence, found
        // wherever they are in the word.
        let bad = (0..<17).flatMap { before -> [[UInt8]] in
            let lead = Array(repeating: UInt8(ascii: "a"), count: before)
            return [Array(#"{"s":""#.utf8) + lead + [0x01] + Array(#""}"#.utf8), Array(#"{"s":""#.utf8) + lead + [0xFF] + Array(#""}"#.utf8)]
        }
        let (batch, rejected) = try harness.run(messages.map { Array($0.utf8) } + bad)
        let view = try batch.view()
        XCTAssertEqual(view.length, messages.count, "\(rejected.prefix(3))")
        XCTAssertEqual((0..<view.length).map { view.column(named: "s")!.string($0) }, expected)
        XCTAssertEqual((0..<view.length).map { view.column(named: "n")!.int64($0) }, (0..<specials.count).flatMap { _ in (0..<17).map(Int64.init) })
        XCTAssertEqual(rejected.map(\.reason), (0..<17).flatMap { before in
            ["invalid_json: control character in a string at byte \(6 + before)", "invalid_utf8: byte \(6 + before) is not valid UTF-8"]
        })
    }

    /// Unescaped strings longer than the scratch buffer's first 4 KB: it grows, keeping the
    /// strings unescaped before the growth, in the same message and in the next.
    func testEscapedStringsLongerThanTheScratchBuffer() throws {
        let harness = try ParserHarness(["columns": [["name": "a", "type": "string"], ["name": "b", "type": "string"], ["name": "c", "type": "string"]]])
        let long = String(repeating: #"\u00e9\n"#, count: 3000)
        let (batch, rejected) = try harness.run([
            #"{"a":"x\ty","b":"\#(long)","c":"\#(long)z"}"#,
            #"{"a":"\u20ac","b":"\#(long)","c":"\u0041"}"#,
        ])
        XCTAssertTrue(rejected.isEmpty, "\(rejected)")
        let view = try batch.view()
        let unescaped = String(repeating: "é\n", count: 3000)
        XCTAssertEqual(view.column(named: "a")!.string(0), "x\ty")
        XCTAssertEqual(view.column(named: "b")!.string(0), unescaped)
        XCTAssertEqual(view.column(named: "c")!.string(0), unescaped + "z")
        XCTAssertEqual(view.column(named: "a")!.string(1), "€")
        XCTAssertEqual(view.column(named: "b")!.string(1), unescaped)
        XCTAssertEqual(view.column(named: "c")!.string(1), "A")
    }

    func testOutOfRangeForEveryIntegerWidth() throws {
        let cases: [(String, String)] = [("int8", "128"), ("int8", "-129"), ("int16", "32768"), ("int32", "-2147483649"),
                                         ("int64", "9223372036854775808"), ("uint8", "256"), ("uint16", "65536"),
                                         ("uint32", "4294967296"), ("uint64", "-1")]
        for (type, value) in cases {
            let harness = try ParserHarness(["columns": [["name": "x", "type": type]]])
            let (_, rejected) = try harness.run([#"{"x":\#(value)}"#])
            XCTAssertEqual(rejected.count, 1, "\(type) \(value)")
            XCTAssertTrue(rejected.first?.reason.hasPrefix("out_of_range: 'x' = \(value) does not fit \(type)") == true, "\(rejected)")
        }
    }

    /// Numbers read near 19 digits, where reading them unchecked stops being safe: every
    /// double as `Double(String)` reads it, every uint64 exact, and one digit past the range an
    /// error.
    func testNumbersAroundNineteenDigits() throws {
        let doubles = ["1234567890123456789", "12345678901234567890", "0.1234567890123456789", "123456789.0123456789012",
                       "9007199254740993", "-0.000000000000000000001", "1.7976931348623157e308", "21.5000000000000000001"]
        let harness = try ParserHarness(["columns": [["name": "d", "type": "float64"], ["name": "u", "type": "uint64"]]])
        let (batch, rejected) = try harness.run(doubles.map { #"{"d":\#($0),"u":9999999999999999999}"# }
                                                + [#"{"d":1,"u":18446744073709551615}"#, #"{"d":1,"u":18446744073709551616}"#,
                                                   #"{"d":1,"u":99999999999999999999}"#])
        XCTAssertEqual(rejected.map(\.reason), ["out_of_range: 'u' = 18446744073709551616 does not fit uint64",
                                                "out_of_range: 'u' = 99999999999999999999 does not fit uint64"])
        let view = try batch.view()
        for (row, text) in doubles.enumerated() {
            XCTAssertEqual(view.column(named: "d")!.fixed(row, as: Double.self), Double(text)!, text)
            XCTAssertEqual(view.column(named: "u")!.fixed(row, as: UInt64.self), 9_999_999_999_999_999_999)
        }
        XCTAssertEqual(view.column(named: "u")!.fixed(doubles.count, as: UInt64.self), UInt64.max)
    }

    /// Keys in any order are found in place; a wanted key spelled with escapes is still that
    /// key; keys that share a prefix with a wanted one, or extend it, are not it.
    func testKeysInAnyOrderEscapedSpellingsAndLookalikes() throws {
        let harness = try ParserHarness(["columns": [["name": "site", "path": "location.site", "type": "string"], ["name": "seq", "type": "uint64"],
                                                     ["name": "ts", "type": "int64"]]])
        let (batch, rejected) = try harness.run([
            #"{"ts":1,"location":{"sit":"no","site":"a","sites":"no"},"seq":1}"#,
            #"{"seq":2,"se":0,"seqq":0,"location":{"sit\u0065":"b"},"t\u0073":2}"#,
            #"{"location":{"x":{"site":"no"},"site":"c"},"ts":3,"seq":3}"#,
        ])
        XCTAssertTrue(rejected.isEmpty, "\(rejected)")
        let view = try batch.view()
        XCTAssertEqual((0..<3).map { view.column(named: "site")!.string($0) }, ["a", "b", "c"])
        XCTAssertEqual((0..<3).map { view.column(named: "seq")!.fixed($0, as: UInt64.self) }, [1, 2, 3])
        XCTAssertEqual((0..<3).map { view.column(named: "ts")!.int64($0) }, [1, 2, 3])

        // Keys of eight bytes and more, whose first eight bytes are all a lookalike shares, and
        // short keys within eight bytes of the message's end.
        let (sensors, refused) = try self.sensors().run([
            #"{"sensor_idx":"no","temperatur":0,"sensor_id":"s1","temperaturee":0,"temperature":1.5,"humidity ":0,"humidity":2,"#
                + #""battery":3,"status":"ok","location":{"sit":0,"site":"p"},"seq":5,"ts":6}"#,
            #"{"ts":7,"seq":8,"location":{"site":"q"},"battery":4,"humidity":null,"temperature":2.5,"sensor_id":"s2"}"#,
        ])
        XCTAssertTrue(refused.isEmpty, "\(refused)")
        let rows = try sensors.view()
        XCTAssertEqual((0..<2).map { rows.column(named: "sensor_id")!.string($0) }, ["s1", "s2"])
        XCTAssertEqual((0..<2).map { rows.column(named: "temperature")!.fixed($0, as: Double.self) }, [1.5, 2.5])
        XCTAssertEqual(rows.column(named: "humidity")!.fixed(0, as: Double.self), 2)
        XCTAssertTrue(rows.column(named: "humidity")!.isNull(1))
        XCTAssertEqual((0..<2).map { rows.column(named: "site")!.string($0) }, ["p", "q"])
        XCTAssertEqual((0..<2).map { rows.column(named: "ts")!.int64($0) }, [6, 7])
        XCTAssertEqual((0..<2).map { rows.column(named: "seq")!.fixed($0, as: UInt64.self) }, [5, 8])
    }

    func testDeepPathsEscapedKeysAndSkippedValues() throws {
        let harness = try ParserHarness(["columns": [["name": "deep", "path": "a.b.c", "type": "int32"], ["name": "k", "path": "we\"ird", "type": "string"]]])
        let (batch, rejected) = try harness.run([#"{"skip":[1,{"x":[true,null,"\u0041"]},-2.5e+3],"a":{"z":{},"b":{"c":42}},"we\"ird":"ok"}"#,
                                                 #"{"a":{"b":{"c":1}},"k":"x","we\u0022ird":"escaped key"}"#])
        XCTAssertTrue(rejected.isEmpty, "\(rejected)")
        let v = try batch.view()
        XCTAssertEqual(v.column(named: "deep")!.int64(0), 42)
        XCTAssertEqual(v.column(named: "k")!.string(0), "ok")
        XCTAssertEqual(v.column(named: "k")!.string(1), "escaped key")
    }

    /// The key expected next is matched with its closing quote in one comparison; keys that
    /// only start like it, escaped spellings of it, and keys out of order all still resolve.
    func testExpectedKeysAndLookAlikes() throws {
        let harness = try ParserHarness(["columns": [["name": "seq", "type": "int64"], ["name": "ts", "type": "int64"]]])
        let (batch, rejected) = try harness.run([
            #"{"seq":1,"ts":2}"#,               // in the expected order
            #"{"seqx":9,"seq":3,"t":8,"ts":4}"#, // look-alikes longer and shorter than the expected key
            #"{"ts":6,"seq":5}"#,               // out of order
            #"{"seq":7,"ts":8}"#,     // escaped spellings
            #"{"seq":9,"ts"#,                    // ends inside the key
        ])
        let v = try batch.view()
        XCTAssertEqual((0..<v.length).map { v.column(named: "seq")!.int64($0) }, [1, 3, 5, 7])
        XCTAssertEqual((0..<v.length).map { v.column(named: "ts")!.int64($0) }, [2, 4, 6, 8])
        XCTAssertEqual(rejected.map(\.reason), ["invalid_json: unterminated string"])
    }

    func testKeepCopiesInputColumnsOfValidRows() throws {
        let harness = try ParserHarness(["columns": [["name": "n", "type": "int64"]], "keep": ["message_id"]])
        let payload = ArrowColumnBuilder(name: "payload", format: .utf8)
        let ids = ArrowColumnBuilder(name: "message_id", format: .utf8)
        for (p, id) in [(#"{"n":1}"#, "1:1"), ("bad", "1:2"), (#"{"n":3}"#, "1:3")] { payload.append(p); ids.append(id) }
        let output = try harness.parser.process(ArrowBatchBuilder(columns: [payload, ids]).finish())
        let v = try output.view()
        XCTAssertEqual(v.length, 2)
        XCTAssertEqual(v.column(named: "message_id")!.string(1), "1:3")
        XCTAssertEqual(harness.host.rejected.map(\.row), [1])
    }

    func testFailAndDropPolicies() throws {
        let fail = try ParserHarness(["columns": sensorColumns], onError: "fail")
        XCTAssertThrowsError(try fail.run(["{}"])) { error in
            XCTAssertTrue("\(error)".contains("on_error is fail: missing_field: 'sensor_id' is required"), "\(error)")
        }
        let drop = try ParserHarness(["columns": sensorColumns], onError: "drop")
        let (batch, rejected) = try drop.run(["{}", sampleReading])
        XCTAssertEqual(try batch.view().length, 1)
        XCTAssertTrue(rejected.isEmpty, "dropped records are counted, not sent to dead letters")
    }

    func testConfigurationErrorsPointAtTheValue() throws {
        func error(_ config: [String: Any]) -> PluginError? {
            do { _ = try ParserHarness(config); return nil } catch { return error as? PluginError }
        }
        XCTAssertEqual(error(["columns": [["name": "a", "type": "int7"]]])?.configPath, "/columns/0/type")
        XCTAssertEqual(error(["columns": [["name": "a", "type": "string"], ["name": "a", "type": "string"]]])?.configPath, "/columns/1/name")
        XCTAssertEqual(error(["columns": [["name": "a", "type": "uint8", "default": 300]]])?.configPath, "/columns/0/default")
        XCTAssertEqual(error(["columns": [["name": "a", "type": "string", "unit": "ms"]]])?.configPath, "/columns/0/unit")
        XCTAssertEqual(error(["columns": [["name": "a", "type": "string"]], "on_error": "ignore"])?.configPath, "/on_error")
        XCTAssertEqual(error(["columns": [["name": "a", "type": "string"], ["name": "b", "path": "a.x", "type": "string"]]])?.configPath, "/columns")
        XCTAssertEqual(error(["columns": [["name": "a", "path": "x..y", "type": "string"]]])?.configPath, "/columns/0/path")
    }
}

/// The schema the parser declares to `sluice validate` (ABI 1.1 `output_schema`).
final class SensorParserSchemaTests: XCTestCase {
    private func config(_ json: [String: Any]) throws -> SensorParserConfig {
        try JSONDecoder().decode(SensorParserConfig.self, from: JSONSerialization.data(withJSONObject: json))
    }

    func testDeclaresItsColumnsAndTheKeptOnes() throws {
        let input = [ArrowField(name: "payload", format: .binary, nullable: false), ArrowField(name: "topic", format: .utf8, nullable: false)]
        let fields = try SensorParser.outputSchema(config: config(["columns": sensorColumns, "keep": ["topic"]]), input: input)
        XCTAssertEqual(fields?.map(\.description), ["sensor_id utf8", "ts timestamp[ms, UTC]", "temperature float64", "humidity float64?",
                                                    "battery uint8", "status utf8", "site utf8", "seq uint64", "topic utf8"])
    }

    func testMissingPayloadOrKeptColumnPointsAtTheConfiguration() throws {
        let input = [ArrowField(name: "body", format: .utf8)]
        XCTAssertThrowsError(try SensorParser.outputSchema(config: config(["columns": sensorColumns, "payload_column": "payload"]), input: input)) {
            XCTAssertEqual(($0 as? PluginError)?.configPath, "/payload_column")
        }
        XCTAssertThrowsError(try SensorParser.outputSchema(config: config(["columns": sensorColumns, "payload_column": "body", "keep": ["topic"]]), input: input)) {
            XCTAssertEqual(($0 as? PluginError)?.configPath, "/keep/0")
        }
        XCTAssertThrowsError(try SensorParser.outputSchema(config: config(["columns": sensorColumns]), input: [ArrowField(name: "payload", format: .int64)]))
    }
}
