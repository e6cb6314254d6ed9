import Foundation
import XCTest
@testable import ClickHouseSink
import PluginKit

/// Encoder conformance against reference bytes that ClickHouse 26.x (chdb) writes for the same
/// values (`SELECT ... FORMAT Native`), and the type mapping rules.
final class NativeEncoderTests: XCTestCase {
    func column(_ name: String, _ type: String, _ defaultKind: String = "") -> TableColumn {
        TableColumn(name: name, typeName: type, type: ClickHouseType(parsing: type), defaultKind: defaultKind)
    }

    func encode(_ batch: ArrowBatch, into table: [TableColumn], mapping: ColumnMapping = ColumnMapping()) throws -> [UInt8] {
        let builder = NativeBlockBuilder(table: table, tableName: "default.t", mapping: mapping)
        let columns = try ArrowSourceColumn.columns(of: batch)
        try builder.bind(columns)
        try builder.append(columns, rows: 0..<batch.length)
        return Array(builder.finishBlock()!.bytes)
    }

    func hex(_ text: String) -> [UInt8] {
        text.split(separator: " ").map { UInt8($0, radix: 16)! }
    }

    func strings(_ values: [String?], name: String = "c") -> ArrowBatch {
        let b = ArrowColumnBuilder(name: name, format: .utf8)
        for v in values { if let v { b.append(v) } else { b.appendNull() } }
        return ArrowBatchBuilder(columns: [b]).finish()
    }

    // MARK: - Reference bytes (the types 18.16 lacks)

    func testLowCardinalityStringMatchesClickHouse() throws {
        // SELECT toLowCardinality(s) AS c FROM (SELECT arrayJoin(['a','b','a','']) AS s) FORMAT Native
        let expected = hex("01 04 01 63 16 4c 6f 77 43 61 72 64 69 6e 61 6c 69 74 79 28 53 74 72 69 6e 67 29 01 00 00 00 00 00 00 00 00 06 00 00 00 00 00 00 03 00 00 00 00 00 00 00 00 01 61 01 62 04 00 00 00 00 00 00 00 01 02 01 00")
        XCTAssertEqual(try encode(strings(["a", "b", "a", ""]), into: [column("c", "LowCardinality(String)")]), expected)
    }

    func testLowCardinalityNullableStringMatchesClickHouse() throws {
        // SELECT CAST(s AS LowCardinality(Nullable(String))) AS c FROM (SELECT arrayJoin(['a',NULL,'a']) AS s)
        let expected = hex("01 03 01 63 20 4c 6f 77 43 61 72 64 69 6e 61 6c 69 74 79 28 4e 75 6c 6c 61 62 6c 65 28 53 74 72 69 6e 67 29 29 01 00 00 00 00 00 00 00 00 06 00 00 00 00 00 00 03 00 00 00 00 00 00 00 00 00 01 61 03 00 00 00 00 00 00 00 02 00 02")
        XCTAssertEqual(try encode(strings(["a", nil, "a"]), into: [column("c", "LowCardinality(Nullable(String))")]), expected)
    }

    func testLowCardinalityWidensItsIndexPastTwoHundredFiftySixKeys() throws {
        let values = (0..<300).map { "k\($0)" }
        let bytes = try encode(strings(values), into: [column("c", "LowCardinality(String)")])
        let header = 1 + 2 + 2 + 23 + 8  // column count, row count (varint 300), name, type name, key version
        XCTAssertEqual(bytes[header], 0x01, "index type UInt16")
        XCTAssertEqual(bytes[header + 1], 0x06)
    }

    func testDateTime64MatchesClickHouse() throws {
        // SELECT toDateTime64('2020-01-01 00:00:01.5', 3, 'UTC') AS c FORMAT Native
        let expected = hex("01 01 01 63 14 44 61 74 65 54 69 6d 65 36 34 28 33 2c 20 27 55 54 43 27 29 dc ed 66 5e 6f 01 00 00")
        for (unit, value) in [(ArrowFormat.TimeUnit.milliseconds, Int64(1_577_836_801_500)), (.microseconds, 1_577_836_801_500_000), (.nanoseconds, 1_577_836_801_500_000_000)] {
            let b = ArrowColumnBuilder(name: "c", format: .timestamp(unit, timeZone: "UTC"), nullable: false)
            b.append(value)
            XCTAssertEqual(try encode(ArrowBatchBuilder(columns: [b]).finish(), into: [column("c", "DateTime64(3, 'UTC')")]), expected, "\(unit)")
        }
    }

    func testBoolAndNullableMatchClickHouse() throws {
        // SELECT true AS c FORMAT Native
        let b = ArrowColumnBuilder(name: "c", format: .boolean, nullable: false)
        b.append(true)
        XCTAssertEqual(try encode(ArrowBatchBuilder(columns: [b]).finish(), into: [column("c", "Bool")]), hex("01 01 01 63 04 42 6f 6f 6c 01"))
        // SELECT CAST(1 AS Nullable(Int32)) AS c (one block of the UNION): null map, then values
        let n = ArrowColumnBuilder(name: "c", format: .int32)
        n.append(Int64(1))
        n.appendNull()
        let bytes = try encode(ArrowBatchBuilder(columns: [n]).finish(), into: [column("c", "Nullable(Int32)")])
        XCTAssertEqual(bytes, hex("01 02 01 63 0f 4e 75 6c 6c 61 62 6c 65 28 49 6e 74 33 32 29 00 01 01 00 00 00 00 00 00 00"))
    }

    // MARK: - Types and conversions

    func testTypeNamesParse() {
        XCTAssertEqual(ClickHouseType(parsing: "Nullable(FixedString(16))"), .nullable(.fixedString(16)))
        XCTAssertEqual(ClickHouseType(parsing: "DateTime('Europe/Berlin')"), .dateTime(timeZone: "Europe/Berlin"))
        XCTAssertEqual(ClickHouseType(parsing: "DateTime64(6)"), .dateTime64(precision: 6, timeZone: nil))
        XCTAssertEqual(ClickHouseType(parsing: "LowCardinality(Nullable(String))"), .lowCardinality(.nullable(.string)))
        XCTAssertNil(ClickHouseType(parsing: "Array(String)"))
        XCTAssertNil(ClickHouseType(parsing: "LowCardinality(UInt32)"))
        XCTAssertNil(ClickHouseType(parsing: "Nullable(Nullable(Int8))"))
    }

    func testNarrowingIsRangeCheckedPerValue() throws {
        let b = ArrowColumnBuilder(name: "battery", format: .int64, nullable: false)
        b.append(Int64(5)); b.append(Int64(300))
        XCTAssertThrowsError(try encode(ArrowBatchBuilder(columns: [b]).finish(), into: [column("battery", "UInt8")])) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("'battery'") && text.contains("row 1") && text.contains("300") && text.contains("UInt8"), text)
        }
        let negative = ArrowColumnBuilder(name: "x", format: .int64, nullable: false)
        negative.append(Int64(-1))
        XCTAssertThrowsError(try encode(ArrowBatchBuilder(columns: [negative]).finish(), into: [column("x", "UInt64")]))
    }

    func testNullIntoNonNullableFailsUnlessNullAsDefault() throws {
        XCTAssertThrowsError(try encode(strings(["a", nil]), into: [column("c", "String")])) { error in
            XCTAssertTrue("\(error)".contains("row 1 is NULL"), "\(error)")
        }
        let bytes = try encode(strings(["a", nil]), into: [column("c", "String")], mapping: ColumnMapping(nullAsDefault: true))
        XCTAssertEqual(Array(bytes.suffix(3)), [1, 0x61, 0])
    }

    func testIncompatibleTypesNameBothTypes() {
        let b = ArrowColumnBuilder(name: "value", format: .float64, nullable: false)
        b.append(1.5)
        XCTAssertThrowsError(try encode(ArrowBatchBuilder(columns: [b]).finish(), into: [column("value", "Date")])) { error in
            XCTAssertTrue("\(error)".contains("'value'") && "\(error)".contains("float64") && "\(error)".contains("Date"), "\(error)")
        }
    }

    func testUnknownColumnsAreNamedAndCanBeRenamedOrIgnored() throws {
        let table = [column("seq", "UInt64"), column("x", "UInt8", "DEFAULT")]
        let b = ArrowColumnBuilder(name: "value", format: .int64, nullable: false)
        b.append(Int64(7))
        let batch = ArrowBatchBuilder(columns: [b]).finish()
        XCTAssertThrowsError(try encode(batch, into: table)) { XCTAssertTrue("\($0)".contains("'value'"), "\($0)") }
        let renamed = try encode(batch, into: table, mapping: ColumnMapping(renames: ["value": "seq"]))
        XCTAssertEqual(renamed, [1, 1, 3] + Array("seq".utf8) + [6] + Array("UInt64".utf8) + [7, 0, 0, 0, 0, 0, 0, 0])
    }

    func testTimestampsScaleToDateTimeAndDate() throws {
        let ts = ArrowColumnBuilder(name: "ts", format: .timestamp(.milliseconds, timeZone: ""), nullable: false)
        ts.append(Int64(86_400_999))
        let d = ArrowColumnBuilder(name: "d", format: .timestamp(.milliseconds, timeZone: ""), nullable: false)
        d.append(Int64(2 * 86_400_000 + 5))
        let bytes = try encode(ArrowBatchBuilder(columns: [ts, d]).finish(), into: [column("ts", "DateTime"), column("d", "Date")])
        // ts: 86400 as UInt32, d: day 2 as UInt16
        XCTAssertEqual(Array(bytes[(2 + 3 + 9)..<(2 + 3 + 9 + 4)]), [0x80, 0x51, 0x01, 0x00])
        XCTAssertEqual(Array(bytes.suffix(2)), [2, 0])
    }

    func testStateRoundTrips() throws {
        let state = SinkState(runID: "abc", pending: [3, 4])
        XCTAssertEqual(try SinkState.decode(state.encoded()), state)
    }

    func testConfigValidation() throws {
        XCTAssertThrowsError(try sinkConfig(#"{"url":"ftp://x","table":"t"}"#))
        XCTAssertThrowsError(try sinkConfig(#"{"url":"http://u:p@x:8123","table":"t"}"#)) { XCTAssertFalse("\($0)".contains(":p@"), "\($0)") }
        XCTAssertThrowsError(try sinkConfig(#"{"url":"http://x","table":"t","password":"a","password_env":"B"}"#))
        XCTAssertThrowsError(try sinkConfig(#"{"url":"http://x","table":"t","input_schema":{"a":"decimal"}}"#))
        let ok = try sinkConfig(#"{"url":"https://x:8443","table":"t","flush_interval":"250ms","settings":{"max_insert_threads":2,"async_insert":false}}"#)
        XCTAssertEqual(ok.flushInterval.seconds, 0.25)
        XCTAssertEqual(ok.settings["async_insert"]?.text, "0")
    }

    func testPasswordFromEnvironmentOrFile() throws {
        let file = NSTemporaryDirectory() + "sluice-pw-\(getpid())"
        try "s3cret\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        XCTAssertEqual(try sinkConfig(#"{"url":"http://x","table":"t","password_file":"\#(file)"}"#).password.resolve(), "s3cret")
        XCTAssertEqual(try decodedSinkConfig(#"{"url":"http://x","table":"t","password_env":"PW"}"#).password.resolve(environment: ["PW": "x"]), "x")
        XCTAssertThrowsError(try decodedSinkConfig(#"{"url":"http://x","table":"t","password_env":"NOPE_PW"}"#).password.resolve(environment: [:])) {
            XCTAssertTrue("\($0)".contains("NOPE_PW"))
        }
        // validate applies the same rule: the variable must be set where the pipeline runs.
        XCTAssertThrowsError(try sinkConfig(#"{"url":"http://x","table":"t","password_env":"NOPE_PW"}"#)) { error in
            XCTAssertEqual((error as? ConfigProblem)?.configPath, "/password_env")
        }
    }

    func testGzipIsReadableByGunzip() throws {
        let data = Array(String(repeating: "sluice ", count: 1000).utf8)
        let compressed = try Gzip.compress(data[...])
        XCTAssertLessThan(compressed.count, data.count / 10)
        let path = NSTemporaryDirectory() + "sluice-gz-\(getpid()).gz"
        FileManager.default.createFile(atPath: path, contents: Data(compressed))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let result = try runCommand("/bin/gzip", ["-dc", path])
        XCTAssertEqual(result.stdout, String(decoding: data, as: UTF8.self))
    }
}
