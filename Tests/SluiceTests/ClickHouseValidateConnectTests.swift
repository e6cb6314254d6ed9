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

    /// An unreachable broker and an unreachable server are each tried once, not retried, and
    /// both are reported, named, with EX_CONFIG.
    func testUnreachableEndpointsAreEachTriedOnceAndAllReported() throws {
        let broker = "pulsar://127.0.0.1:\(freePort())", clickhouse = "http://127.0.0.1:\(freePort())"
        let path = dir + "/unreachable.yaml"
        try """
        name: unreachable
        source: { plugin: pulsar-source, config: { service_url: "\(broker)", topic: readings, subscription: s } }
        transforms: [ { plugin: sensor-parser, config: { columns: [ { name: seq, type: int64 } ] } } ]
        sink: { plugin: clickhouse-sink, name: clickhouse, config: { url: "\(clickhouse)", table: readings } }
        checkpointing: { directory: \(dir)/checkpoints }
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let result = try runProcess(Built.sluice, ["validate", path, "--connect"], timeout: 60)
        XCTAssertEqual(result.status, 78, result.output)
        XCTAssertTrue(result.stderr.contains("operator 'source'"), result.output)
        XCTAssertTrue(result.stderr.contains(broker), result.output)
        XCTAssertTrue(result.stderr.contains("operator 'clickhouse'"), result.output)
        XCTAssertTrue(result.stderr.contains("ClickHouse at \(clickhouse) unreachable"), result.output)
        XCTAssertFalse(result.output.contains("retrying"), "a check does not retry:\n" + result.output)
    }

    func testMissingTableIsNamed() throws {
        let result = try validate(table: "missing_table")
        XCTAssertEqual(result.status, 78, result.output)
        XCTAssertTrue(result.stderr.contains("operator 'clickhouse'"), result.output)
        XCTAssertTrue(result.stderr.contains("table default.missing_table does not exist"), result.output)
    }

    func testMissingColumnIsNamed() throws {
        let result = try validate(table: "numbers", sinkExtra: ", columns: { value: sequence_number }")
        XCTAssertEqual(result.status, 78, result.output)
        XCTAssertTrue(result.stderr.contains("no column 'sequence_number' (for input column 'value')"), result.output)
    }

    func testIncompatibleTypeIsNamedAtOpenWithAnInputSchema() throws {
        let result = try validate(table: "dates", sinkExtra: ", input_schema: { value: float64 }")
        XCTAssertEqual(result.status, 78, result.output)
        XCTAssertTrue(result.stderr.contains("column 'value': Arrow type float64 cannot be converted to ClickHouse type Date"), result.output)
    }

    func testIncompatibleTypeWithoutInputSchemaFailsTheFirstBatchBeforeAnyRowIsStaged() throws {
        // The sequence source's int64 `value` into a FixedString column.
        try? server.query("CREATE TABLE fixed (value FixedString(2)) ENGINE = MergeTree ORDER BY value")
        let path = clickHousePipeline(directory: dir, url: server.url, table: "fixed", count: 10, rate: 0)
        let result = try runProcess(Built.sluice, ["worker", path], timeout: 60)
        XCTAssertEqual(result.status, 78, result.output)
        XCTAssertTrue(result.stderr.contains("column 'value': Arrow type int64 cannot be converted to ClickHouse type FixedString(2)"), result.output)
    }

    /// The columns the chain declares are checked against the table's types at --connect, and
    /// the error lands where the column is declared. At run time the same mismatch stops the
    /// pipeline for good: a restart would fail the same way.
    func testColumnTypesAlongTheChainAreCheckedAgainstTheTable() throws {
        try server.query("CREATE TABLE calibrated (value Float64, celsius String) ENGINE = MergeTree ORDER BY value")
        let path = dir + "/typed.yaml"
        try """
        name: typed
        source: { plugin: sequence-source, config: { count: 10, format: float64 } }
        transforms:
          - fn:
              library: calibrate
              symbol: calibrate
              signature: "double calibrate(double raw, double offset, double gain)"
              args: [value, 0.5, 2.0]
              output: celsius
        sink: { plugin: clickhouse-sink, name: clickhouse, config: { url: "\(server.url)", table: calibrated } }
        checkpointing: { directory: \(dir)/checkpoints }
        restart: { initial_delay: 50ms }
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let plain = try runProcess(Built.sluice, ["validate", path])
        XCTAssertEqual(plain.status, 0, "without --connect the table is not known:\n" + plain.output)

        let checked = try runProcess(Built.sluice, ["validate", path, "--connect"], timeout: 60)
        XCTAssertEqual(checked.status, 78, checked.output)
        XCTAssertTrue(checked.stderr.contains("\(path):9:15: operator 'clickhouse' (plugin clickhouse-sink): column 'celsius': Arrow type float64 cannot be converted to ClickHouse type String"), checked.output)
        XCTAssertTrue(checked.stderr.contains("(column 'celsius' comes from transform 'transform-1')"), checked.output)

        let run = try runProcess(Built.sluice, ["run", path], timeout: 60)
        XCTAssertEqual(run.status, 78, run.output)
        XCTAssertTrue(run.stderr.contains("a restart cannot fix this"), run.output)
        XCTAssertEqual(try server.scalar("SELECT count() FROM calibrated"), "0")
    }

    func testWrongCredentialsAreNamedWithoutThePassword() throws {
        let result = try validate(table: "numbers", sinkExtra: ", user: sluice, password: not-the-password")
        XCTAssertEqual(result.status, 78, result.output)
        XCTAssertTrue(result.stderr.contains("rejected the credentials of user 'sluice'"), result.output)
        XCTAssertFalse(result.output.contains("not-the-password"), result.output)
    }
}
