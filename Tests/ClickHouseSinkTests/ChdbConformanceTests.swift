import Foundation
import XCTest
@testable import ClickHouseSink
import PluginKit

/// Decodes the sink's Native output with chdb (an in-process ClickHouse 26.x from PyPI, installed
/// into .venv by scripts/test) for the types the Debian server (18.16) lacks: DateTime64,
/// LowCardinality and Bool, next to the classic ones.
final class ChdbConformanceTests: XCTestCase {
    func testChdbDecodesTheSinksNativeOutput() throws {
        let python = ClickHouseServer.packageRoot + "/.venv/bin/python"
        guard FileManager.default.isExecutableFile(atPath: python),
              try runCommand(python, ["-c", "import chdb"]).status == 0 else {
            XCTFail("chdb-core is not installed in .venv: run scripts/test (scripts/services/clickhouse.sh install puts it there)")
            return
        }
        func column(_ name: String, _ type: String) -> TableColumn {
            TableColumn(name: name, typeName: type, type: ClickHouseType(parsing: type), defaultKind: "")
        }
        let table = [column("lc", "LowCardinality(String)"), column("lcn", "LowCardinality(Nullable(String))"),
                     column("t3", "DateTime64(3, 'UTC')"), column("t9", "DateTime64(9)"), column("flag", "Bool"),
                     column("n", "Nullable(Int16)"), column("s", "String"), column("fs", "FixedString(3)"),
                     column("u64", "UInt64"), column("d", "Date"), column("dt", "DateTime('UTC')")]
        let lc = ArrowColumnBuilder(name: "lc", format: .utf8), lcn = ArrowColumnBuilder(name: "lcn", format: .utf8)
        let t3 = ArrowColumnBuilder(name: "t3", format: .timestamp(.microseconds, timeZone: "UTC"))
        let t9 = ArrowColumnBuilder(name: "t9", format: .timestamp(.nanoseconds, timeZone: ""))
        let flag = ArrowColumnBuilder(name: "flag", format: .boolean), n = ArrowColumnBuilder(name: "n", format: .int8)
        let s = ArrowColumnBuilder(name: "s", format: .utf8), fs = ArrowColumnBuilder(name: "fs", format: .utf8)
        let u64 = ArrowColumnBuilder(name: "u64", format: .uint64), d = ArrowColumnBuilder(name: "d", format: .date32)
        let dt = ArrowColumnBuilder(name: "dt", format: .timestamp(.seconds, timeZone: "UTC"))
        let rows = 600  // more than 256 distinct keys: the LowCardinality index widens to UInt16
        for i in 0..<rows {
            lc.append(i % 3 == 0 ? "" : "key-\(i % 400)")
            if i % 5 == 0 { lcn.appendNull() } else { lcn.append("v\(i % 7) ✓") }
            t3.append(Int64(1_577_836_801_500_000) + Int64(i) * 1_001)
            t9.append(Int64(1_577_836_801_123_456_789) + Int64(i))
            flag.append(i % 2 == 0)
            if i % 4 == 0 { n.appendNull() } else { n.append(Int64(i % 128) - 64) }
            s.append(i == 1 ? String(repeating: "x", count: 70_000) : "row \(i) é")
            fs.append(String(i % 1000).prefix(3).description)
            u64.append(UInt64.max - UInt64(i))
            d.append(Int64(18_262 + i))
            dt.append(Int64(1_577_836_800 + i))
        }
        let batch = ArrowBatchBuilder(columns: [lc, lcn, t3, t9, flag, n, s, fs, u64, d, dt]).finish()
        let builder = NativeBlockBuilder(table: table, tableName: "t", mapping: ColumnMapping())
        let columns = try ArrowSourceColumn.columns(of: batch)
        try builder.bind(columns)
        try builder.append(columns, rows: 0..<300)
        try builder.append(columns, rows: 300..<rows)
        let block = builder.finishBlock()!
        let path = NSTemporaryDirectory() + "sluice-chdb-\(getpid()).native"
        FileManager.default.createFile(atPath: path, contents: Data(block.bytes))
        defer { try? FileManager.default.removeItem(atPath: path) }

        let result = try runCommand("/usr/bin/env", ["TZ=UTC", python, ClickHouseServer.packageRoot + "/Tests/Fixtures/clickhouse/decode_native.py", path])
        XCTAssertEqual(result.status, 0, result.stderr)
        let decoded = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as! [String: Any]
        let types = decoded["types"] as! [String: String]
        XCTAssertEqual(types["lc"], "LowCardinality(String)")
        XCTAssertEqual(types["lcn"], "LowCardinality(Nullable(String))")
        XCTAssertEqual(types["t3"], "DateTime64(3, 'UTC')")
        XCTAssertEqual(types["flag"], "Bool")
        let decodedRows = decoded["rows"] as! [[String: Any]]
        XCTAssertEqual(decodedRows.count, rows)
        for (i, row) in decodedRows.enumerated() {
            XCTAssertEqual(row["lc"] as? String, i % 3 == 0 ? "" : "key-\(i % 400)", "row \(i)")
            if i % 5 == 0 { XCTAssertTrue(row["lcn"] is NSNull, "row \(i)") } else { XCTAssertEqual(row["lcn"] as? String, "v\(i % 7) ✓") }
            XCTAssertEqual(row["flag"] as? Bool, i % 2 == 0)
            if i % 4 == 0 { XCTAssertTrue(row["n"] is NSNull) } else { XCTAssertEqual(row["n"] as? Int, i % 128 - 64) }
            XCTAssertEqual((row["s"] as? String)?.count, i == 1 ? 70_000 : "row \(i) é".count)
            let digits = String(i % 1000).prefix(3).description
            XCTAssertEqual(row["fs"] as? String, digits + String(repeating: "\0", count: 3 - digits.count), "FixedString pads with zero bytes")
            XCTAssertEqual((row["u64"] as? NSNumber)?.uint64Value, UInt64.max - UInt64(i))
        }
        XCTAssertEqual(decodedRows[0]["t3"] as? String, "2020-01-01 00:00:01.500")
        XCTAssertEqual(decodedRows[1]["t3"] as? String, "2020-01-01 00:00:01.501", "microseconds floor to milliseconds")
        XCTAssertEqual(decodedRows[0]["t9"] as? String, "2020-01-01 00:00:01.123456789")
        XCTAssertEqual(decodedRows[1]["d"] as? String, "2020-01-02")
        XCTAssertEqual(decodedRows[2]["dt"] as? String, "2020-01-01 00:00:02")
    }
}
