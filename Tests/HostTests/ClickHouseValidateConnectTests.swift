import Foundation
import XCTest

/// `sluice validate` checks the sink's block without connecting; `--connect` opens the sink
/// against a real ClickHouse, and each problem is a clear error naming what is wrong.
final class ClickHouseValidateConnectTests: XCTestCase {
    nonisolated(unsafe) static var server: ClickHouseServer?
    var server: ClickHouseServer { Self.server! }
    private var dir = ""

    override class func tearDown() {
        server?.destroy()
        server = nil
        super.tearDown()
    }

    override func setUpWithError() throws {
        if Self.server == nil {
            Self.server = try ClickHouseServer()
            try Self.server!.query("CREATE TABLE numbers (value Int64, extra String DEFAULT 'x') ENGINE = MergeTree ORDER BY value")
            try Self.server!.query("CREATE TABLE dates (value Date) ENGINE = MergeTree ORDER BY value")
        }
        dir = makeTemporaryDirectory("ch-validate")
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func validate(table: String, sinkExtra: String = "", connect: Bool = true, url: String? = nil, environment: [String: String] = [:]) throws -> RunResult {
        let path = clickHousePipeline(directory: dir, url: url ?? server.url, table: table, count: 10, rate: 0, sinkExtra: sinkExtra)
        return try runProcess(Built.sluice, ["validate", path] + (connect ? ["--connect"] : []), environment: environment, timeout: 60)
    }

    func testConnectSucceedsAndSaysWhichExactlyOncePathItUses() throws {
        let result = try validate(table: "numbers", sinkExtra: ", user: sluice, password_env: CH_TEST_PASSWORD", environment: ["CH_TEST_PASSWORD": "sluice-secret"])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.stdout.contains("clickhouse: connected"), result.output)
        XCTAssertTrue(result.stderr.contains("exactly-once into default.numbers on ClickHouse 18.16"), result.output)
        XCTAssertFalse(result.output.contains("sluice-secret"), result.output)
    }

    func testValidateWithoutConnectTouchesNoServer() throws {
        let result = try validate(table: "does_not_matter", connect: false, url: "http://127.0.0.1:\(freePort())")
        XCTAssertEqual(result.status, 0, result.output)
        let bad = try validate(table: "t", sinkExtra: ", mode: sometimes", connect: false)
        XCTAssertEqual(bad.status, 78, bad.output)
        XCTAssertTrue(bad.stderr.contains("mode"), bad.output)
    }

    func testMissingTableIsNamed() throws {
        let result = try validate(table: "missing_table")
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.stderr.contains("operator 'clickhouse'"), result.output)
        XCTAssertTrue(result.stderr.contains("table default.missing_table does not exist"), result.output)
    }

    func testMissingColumnIsNamed() throws {
        let result = try validate(table: "numbers", sinkExtra: ", columns: { value: sequence_number }")
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.stderr.contains("no column 'sequence_number' (for input column 'value')"), result.output)
    }

    func testIncompatibleTypeIsNamedAtOpenWithAnInputSchema() throws {
        let result = try validate(table: "dates", sinkExtra: ", input_schema: { value: float64 }")
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.stderr.contains("column 'value': Arrow type float64 cannot be converted to ClickHouse type Date"), result.output)
    }

    func testIncompatibleTypeWithoutInputSchemaFailsTheFirstBatchBeforeAnyRowIsStaged() throws {
        // The sequence source's int64 `value` into a FixedString column.
        try? server.query("CREATE TABLE fixed (value FixedString(2)) ENGINE = MergeTree ORDER BY value")
        let path = clickHousePipeline(directory: dir, url: server.url, table: "fixed", count: 10, rate: 0)
        let result = try runProcess(Built.sluice, ["worker", path], timeout: 60)
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.stderr.contains("column 'value': Arrow type int64 cannot be converted to ClickHouse type FixedString(2)"), result.output)
    }

    func testWrongCredentialsAreNamedWithoutThePassword() throws {
        let result = try validate(table: "numbers", sinkExtra: ", user: sluice, password: not-the-password")
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.stderr.contains("rejected the credentials of user 'sluice'"), result.output)
        XCTAssertFalse(result.output.contains("not-the-password"), result.output)
    }
}
