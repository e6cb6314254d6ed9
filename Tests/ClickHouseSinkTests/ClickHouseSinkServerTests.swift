import Foundation
import PluginTestSupport
import XCTest
@testable import ClickHouseSink
import PluginKit

/// The sink driven directly (no host process) against a real ClickHouse server: every type
/// round-trips, exactly-once staging commits once even when re-committed after a "crash",
/// at-least-once flushes by rows and by age, open errors name what is wrong.
final class ClickHouseSinkServerTests: XCTestCase {
    nonisolated(unsafe) static var server: ClickHouseServer?
    var server: ClickHouseServer { Self.server! }
    var stateRoot = ""
    /// The host tables must outlive the sinks that point to them.
    var hosts: [FakeHost] = []

    override class func setUp() {
        super.setUp()
        server = try? ClickHouseServer()
    }

    override class func tearDown() {
        server?.destroy()
        server = nil
        super.tearDown()
    }

    override func setUpWithError() throws {
        if Self.server == nil { Self.server = try ClickHouseServer() }
        stateRoot = NSTemporaryDirectory() + "sluice-chstate-\(UUID().uuidString.prefix(8))"
        CapturedLog.shared.clear()
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: stateRoot)
    }

    /// The staged objects of state folder `s` (temp files and the plugin's own files aside).
    func stagedNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: stateRoot + "/s").filter { !$0.hasPrefix(".") }.sorted()
    }

    /// The block names sealed epoch `epoch` lists.
    func blockList(_ epoch: UInt64) throws -> [String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: stateRoot + "/s/" + NativeStaging.listName(epoch)))
        return try XCTUnwrap((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["blocks"] as? [String])
    }

    func makeSink(_ extra: String, table: String, exactlyOnce: Bool = true, state: String = "s") throws -> (ClickHouseSink, FakeHost) {
        let host = FakeHost(stateDirectory: stateRoot + "/" + state, exactlyOnce: exactlyOnce, log: CapturedLog.shared)
        hosts.append(host)
        let config = try sinkConfig(#"{"url":"\#(server.url)","table":"\#(table)"\#(extra)}"#)
        return (try ClickHouseSink(config: config, host: host.pluginHost), host)
    }

    // MARK: - Types

    func testEverySupportedTypeRoundTrips() throws {
        try server.query("""
            CREATE TABLE types (
              i8 Int8, i16 Int16, i32 Int32, i64 Int64, u8 UInt8, u16 UInt16, u32 UInt32, u64 UInt64,
              f32 Float32, f64 Float64, s String, fs FixedString(4), d Date, dt DateTime, flag UInt8,
              ni8 Nullable(Int8), nu64 Nullable(UInt64), nf64 Nullable(Float64), ns Nullable(String),
              nfs Nullable(FixedString(2)), nd Nullable(Date), ndt Nullable(DateTime),
              untouched String DEFAULT 'dflt'
            ) ENGINE = MergeTree ORDER BY tuple()
            """)
        func col(_ name: String, _ format: ArrowFormat, nullable: Bool = false) -> ArrowColumnBuilder {
            ArrowColumnBuilder(name: name, format: format, nullable: nullable)
        }
        let i8 = col("i8", .int8), i16 = col("i16", .int16), i32 = col("i32", .int32), i64 = col("i64", .int64)
        let u8 = col("u8", .uint8), u16 = col("u16", .uint16), u32 = col("u32", .uint32), u64 = col("u64", .uint64)
        let f32 = col("f32", .float32), f64 = col("f64", .float64), s = col("s", .utf8), fs = col("fs", .binary)
        let d = col("d", .date32), dt = col("dt", .timestamp(.microseconds, timeZone: "UTC")), flag = col("flag", .boolean)
        let ni8 = col("ni8", .int64, nullable: true), nu64 = col("nu64", .uint64, nullable: true), nf64 = col("nf64", .float64, nullable: true)
        let ns = col("ns", .utf8, nullable: true), nfs = col("nfs", .utf8, nullable: true), nd = col("nd", .date32, nullable: true)
        let ndt = col("ndt", .timestamp(.seconds, timeZone: ""), nullable: true)
        let long = String(repeating: "long text ✓ ", count: 20_000)
        // row 0: minimums, row 1: maximums, row 2: ordinary values with NULLs
        i8.append(Int64(Int8.min)); i8.append(Int64(Int8.max)); i8.append(Int64(0))
        i16.append(Int64(Int16.min)); i16.append(Int64(Int16.max)); i16.append(Int64(-1))
        i32.append(Int64(Int32.min)); i32.append(Int64(Int32.max)); i32.append(Int64(42))
        i64.append(Int64.min); i64.append(Int64.max); i64.append(Int64(-42))
        u8.append(Int64(0)); u8.append(Int64(UInt8.max)); u8.append(Int64(1))
        u16.append(Int64(0)); u16.append(Int64(UInt16.max)); u16.append(Int64(2))
        u32.append(Int64(0)); u32.append(Int64(UInt32.max)); u32.append(Int64(3))
        u64.append(UInt64(0)); u64.append(UInt64.max); u64.append(UInt64(4))
        f32.append(-1.5); f32.append(3.25); f32.append(0.0)
        f64.append(-1e300); f64.append(1e300); f64.append(0.1)
        s.append(""); s.append(long); s.append("Grüße, 世界 🚀")
        fs.append("ab"); fs.append("abcd"); fs.append("")
        d.append(Int64(0)); d.append(Int64(49_710)); d.append(Int64(18_262))
        dt.append(Int64(0)); dt.append(Int64(4_294_967_295) * 1_000_000); dt.append(Int64(1_577_836_800_123_456))
        flag.append(false); flag.append(true); flag.append(true)
        ni8.append(Int64(-128)); ni8.append(Int64(127)); ni8.appendNull()
        nu64.append(UInt64.max); nu64.append(UInt64(0)); nu64.appendNull()
        nf64.append(2.5); nf64.appendNull(); nf64.append(-0.0)
        ns.append(""); ns.appendNull(); ns.append("ça va")
        nfs.append("xy"); nfs.appendNull(); nfs.append("é")
        nd.appendNull(); nd.append(Int64(1)); nd.append(Int64(2))
        ndt.append(Int64(1)); ndt.appendNull(); ndt.append(Int64(2_000_000_000))
        let batch = ArrowBatchBuilder(columns: [i8, i16, i32, i64, u8, u16, u32, u64, f32, f64, s, fs, d, dt, flag, ni8, nu64, nf64, ns, nfs, nd, ndt]).finish()

        let (sink, _) = try makeSink("", table: "types", exactlyOnce: false)
        try sink.open()
        try sink.write(batch)
        _ = try sink.snapshot(checkpointID: 1)
        try sink.close()

        let rows = try server.query("""
            SELECT i8, i16, i32, i64, u8, u16, u32, u64, f32, f64, length(s), 1, s, hex(fs), toUInt16(d), toUInt32(dt), flag,
                   ni8, nu64, nf64, ns, hex(assumeNotNull(nfs)), isNull(nfs), toUInt16(nd), toUInt32(ndt), untouched
            FROM types ORDER BY i8 FORMAT TabSeparated
            """).split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        XCTAssertEqual(rows.count, 3)
        let minRow = rows[0], maxRow = rows[2], mid = rows[1]
        XCTAssertEqual(Array(minRow[0..<8]), ["-128", "-32768", "-2147483648", "-9223372036854775808", "0", "0", "0", "0"])
        XCTAssertEqual(Array(maxRow[0..<8]), ["127", "32767", "2147483647", "9223372036854775807", "255", "65535", "4294967295", "18446744073709551615"])
        XCTAssertEqual(Array(mid[0..<8]), ["0", "-1", "42", "-42", "1", "2", "3", "4"])
        XCTAssertEqual([minRow[8], minRow[9]], ["-1.5", "-1e300"])
        XCTAssertEqual([maxRow[8], maxRow[9]], ["3.25", "1e300"])
        XCTAssertEqual(minRow[10], "0")
        XCTAssertEqual(maxRow[10], String(long.utf8.count))
        XCTAssertEqual(maxRow[12], long, "a 280 KB string comes back byte for byte")
        XCTAssertEqual(mid[12], "Grüße, 世界 🚀")
        XCTAssertEqual([minRow[13], maxRow[13], mid[13]], ["61620000", "61626364", "00000000"])
        XCTAssertEqual([minRow[14], maxRow[14], mid[14]], ["0", "49710", "18262"], "days since 1970 (18.16 prints 0 as 0000-00-00)")
        XCTAssertEqual([minRow[15], maxRow[15], mid[15]], ["0", "4294967295", "1577836800"], "seconds, floored from microseconds")
        XCTAssertEqual([minRow[16], maxRow[16], mid[16]], ["0", "1", "1"])
        XCTAssertEqual([minRow[17], maxRow[17], mid[17]], ["-128", "127", "\\N"])
        XCTAssertEqual([minRow[18], maxRow[18], mid[18]], ["18446744073709551615", "0", "\\N"])
        XCTAssertEqual([minRow[19], maxRow[19], mid[19]], ["2.5", "\\N", "-0"])
        XCTAssertEqual([minRow[20], maxRow[20], mid[20]], ["", "\\N", "ça va"])
        XCTAssertEqual([minRow[21], minRow[22], maxRow[22], mid[21]], ["7879", "0", "1", "C3A9"])
        XCTAssertEqual([minRow[23], maxRow[23], mid[23]], ["\\N", "1", "2"])
        XCTAssertEqual([minRow[24], maxRow[24], mid[24]], ["1", "\\N", "2000000000"])
        XCTAssertEqual(Set([minRow[25], maxRow[25], mid[25]]), ["dflt"], "a column absent from the batch takes its DEFAULT")
    }

    func testSensorTableDDLWorksOnThisServer() throws {
        let sql = try String(contentsOfFile: ClickHouseServer.packageRoot + "/pipelines/sensors.sql", encoding: .utf8)
        let statements = sql.components(separatedBy: ";").map { stmt in
            stmt.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("--") }.joined(separator: "\n")
        }.filter { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }
        XCTAssertEqual(statements.count, 2)
        for statement in statements { try server.query(statement) }
        XCTAssertEqual(try server.scalar("SELECT count() FROM system.columns WHERE table = 'sensor_readings'"), "8")
        XCTAssertEqual(try server.scalar("SELECT count() FROM system.columns WHERE table = 'sensor_readings_errors'"), "6")
        try server.query("INSERT INTO sensor_readings_errors (error_reason, error_operator, payload, topic, message_id) VALUES ('bad json', 'parser', '{', 't', '1')")
        XCTAssertEqual(try server.scalar("SELECT count() FROM sensor_readings_errors WHERE received_at > toDateTime('2020-01-01 00:00:00')"), "1")
    }

    // MARK: - Exactly-once

    func values(_ range: ClosedRange<Int64>) -> ArrowBatch {
        let b = ArrowColumnBuilder(name: "value", format: .int64, nullable: false)
        for v in range { b.append(v) }
        return ArrowBatchBuilder(columns: [b]).finish()
    }

    func testExactlyOnceStagesUntilCompleteAndRecommitsIdempotentlyAfterACrash() throws {
        try server.query("CREATE TABLE eo (value Int64) ENGINE = MergeTree ORDER BY value")
        let (sink, _) = try makeSink(#","max_block_rows":300"#, table: "eo")
        try sink.open()
        XCTAssertTrue(CapturedLog.shared.text.contains("has no insert_deduplication_token (added in 22.2)"), CapturedLog.shared.text)
        try sink.write(values(1...1000))
        XCTAssertEqual(try server.scalar("SELECT count() FROM eo"), "0", "nothing is visible before the checkpoint completes")
        let state = try sink.snapshot(checkpointID: 7)
        XCTAssertEqual(sink.queryID(epoch: 7, block: 1).hasPrefix("sluice-test-sink-"), true)
        XCTAssertEqual(try blockList(7).count, 4, "1000 rows in blocks of at most 300")
        XCTAssertEqual(try server.scalar("SELECT count() FROM eo"), "0")
        try sink.checkpointComplete(checkpointID: 7)
        // The committer thread inserts the epoch after notify-complete returns.
        try sink.waitForCommits()
        XCTAssertEqual(try server.scalar("SELECT count(), uniqExact(value) FROM eo"), "1000\t1000")
        XCTAssertFalse(FileManager.default.fileExists(atPath: stateRoot + "/s/" + NativeStaging.listName(7)), "committed epochs are removed")
        XCTAssertEqual(try stagedNames().filter { $0.hasPrefix("block-") }, [], "and their blocks")

        // Epoch 8 is sealed, then the worker "dies" after inserting its first two blocks but
        // before deleting them: simulated by inserting them through a second sink's commit path.
        try sink.write(values(1001...2000))
        let state8 = try sink.snapshot(checkpointID: 8)
        let blocks8 = try blockList(8)
        let saved = stateRoot + "/saved-8"
        try FileManager.default.copyItem(atPath: stateRoot + "/s", toPath: saved)
        try sink.checkpointComplete(checkpointID: 8)
        try sink.close()
        XCTAssertEqual(try server.scalar("SELECT count() FROM eo"), "2000")
        // Put the sealed epoch back, minus block 4 (as if it had been deleted after commit),
        // and restore: the restored sink must find blocks 1-3 in system.query_log and skip them.
        try FileManager.default.removeItem(atPath: stateRoot + "/s")
        try FileManager.default.moveItem(atPath: saved, toPath: stateRoot + "/s")
        try FileManager.default.removeItem(atPath: stateRoot + "/s/" + blocks8[3])
        let sealed = stateRoot + "/s/" + NativeStaging.listName(8)
        let (restored, _) = try makeSink(#","max_block_rows":300"#, table: "eo")
        try restored.restore(checkpointID: 8, state: state8)
        try restored.open()
        try restored.close()
        XCTAssertEqual(try server.scalar("SELECT count(), uniqExact(value) FROM eo"), "2000\t2000")
        XCTAssertTrue(CapturedLog.shared.text.contains("3 of 3 block(s) were already in ClickHouse"), CapturedLog.shared.text)
        XCTAssertFalse(FileManager.default.fileExists(atPath: sealed))
        _ = state
    }

    func testRestoreInsertsSealedBlocksThatNeverReachedClickHouse() throws {
        try server.query("CREATE TABLE eo2 (value Int64) ENGINE = MergeTree ORDER BY value")
        let (sink, _) = try makeSink("", table: "eo2")
        try sink.open()
        try sink.write(values(1...500))
        let state = try sink.snapshot(checkpointID: 3)
        try sink.write(values(501...600))  // after the barrier: not covered by checkpoint 3
        try sink.close()                   // "crash" before notify-complete
        let (restored, _) = try makeSink("", table: "eo2")
        try restored.restore(checkpointID: 3, state: state)
        try restored.open()
        XCTAssertEqual(try server.scalar("SELECT count(), min(value), max(value) FROM eo2"), "500\t1\t500")
        try restored.close()
    }

    func testCommitsRunOffTheSinkThreadInParallelBlocksWithGzipAndAFailureIsReportedByTheNextCall() throws {
        try server.query("CREATE TABLE eo3 (value Int64, s String) ENGINE = MergeTree ORDER BY value")
        let (sink, _) = try makeSink(#","max_block_rows":100,"commit_parallelism":3,"compression":"gzip""#, table: "eo3")
        try sink.open()
        try sink.write(values(1...1000))
        _ = try sink.snapshot(checkpointID: 1)
        try sink.checkpointComplete(checkpointID: 1)
        try sink.write(values(1001...1500))  // staged while epoch 1 may still be committing
        _ = try sink.snapshot(checkpointID: 2)
        try sink.checkpointComplete(checkpointID: 2)
        try sink.waitForCommits()
        XCTAssertEqual(try server.scalar("SELECT count(), uniqExact(value), min(value), max(value), countIf(s = '') FROM eo3"), "1500\t1500\t1\t1500\t1500")
        XCTAssertEqual(try stagedNames(), [], "every epoch list and block is gone once committed")

        // The table goes: the committer's INSERT fails for good. notify-complete has returned;
        // the failure comes from the next call, and the epoch stays listed for the restore.
        try server.query("DROP TABLE eo3")
        try sink.write(values(2001...2100))
        let state = try sink.snapshot(checkpointID: 3)
        try sink.checkpointComplete(checkpointID: 3)
        XCTAssertThrowsError(try sink.waitForCommits())
        XCTAssertThrowsError(try sink.write(values(3001...3001))) { error in
            XCTAssertTrue("\(error)".contains("commit of epoch 3"), "\(error)")
        }
        XCTAssertThrowsError(try sink.snapshot(checkpointID: 4))
        XCTAssertEqual(try SinkState.decode(state).pending, [3])
        XCTAssertTrue(FileManager.default.fileExists(atPath: stateRoot + "/s/" + NativeStaging.listName(3)))
        XCTAssertThrowsError(try sink.close())
    }

    // MARK: - At-least-once

    func testAtLeastOnceFlushesByRowsAndByAge() throws {
        try server.query("CREATE TABLE alo (value Int64) ENGINE = MergeTree ORDER BY value")
        let (sink, _) = try makeSink(#","flush_rows":1000,"flush_interval":"300ms""#, table: "alo", exactlyOnce: false)
        try sink.open()
        try sink.write(values(1...999))
        XCTAssertEqual(try server.scalar("SELECT count() FROM alo"), "0")
        try sink.write(values(1000...1500))
        XCTAssertEqual(try server.scalar("SELECT count() FROM alo"), "1000", "flushed at 1000 rows")
        Thread.sleep(forTimeInterval: 0.8)
        XCTAssertEqual(try server.scalar("SELECT count() FROM alo"), "1500", "the rest flushed by age without another write")
        try sink.write(values(1501...1600))
        _ = try sink.snapshot(checkpointID: 1)
        XCTAssertEqual(try server.scalar("SELECT count(), uniqExact(value) FROM alo"), "1600\t1600", "and on the barrier")
        try sink.close()
    }

    func testGzipCompressionAndCredentialsFromAFile() throws {
        try server.query("CREATE TABLE gz (value Int64, s String) ENGINE = MergeTree ORDER BY value")
        let file = stateRoot + "-pw"
        try "sluice-secret\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let (sink, _) = try makeSink(#","user":"sluice","password_file":"\#(file)","compression":"gzip","columns":{"value":"value"}"#, table: "gz", exactlyOnce: false)
        try sink.open()
        try sink.write(values(1...20_000))
        _ = try sink.snapshot(checkpointID: 1)
        try sink.close()
        XCTAssertEqual(try server.scalar("SELECT count(), sum(value), countIf(s = '') FROM gz"), "20000\t200010000\t20000")
        XCTAssertFalse(CapturedLog.shared.text.contains("sluice-secret"))
    }

    // MARK: - Open errors

    func openError(_ extra: String, table: String) throws -> String {
        let (sink, _) = try makeSink(extra, table: table)
        defer { try? sink.close() }
        do { try sink.open() } catch { return "\(error)" }
        XCTFail("open succeeded")
        return ""
    }

    func testOpenErrorsNameWhatIsWrong() throws {
        try server.query("CREATE TABLE errs (seq UInt64, d Date) ENGINE = MergeTree ORDER BY seq")
        let missingTable = try openError("", table: "nope")
        XCTAssertTrue(missingTable.contains("table default.nope does not exist"), missingTable)
        let missingColumn = try openError(#","columns":{"value":"sequence"}"#, table: "errs")
        XCTAssertTrue(missingColumn.contains("no column 'sequence'") && missingColumn.contains("seq UInt64"), missingColumn)
        let incompatible = try openError(#","input_schema":{"value":"float64"},"columns":{"value":"d"}"#, table: "errs")
        XCTAssertTrue(incompatible.contains("'value'") && incompatible.contains("float64") && incompatible.contains("Date"), incompatible)
        let credentials = try openError(#","user":"sluice","password":"wrong-pw""#, table: "errs")
        XCTAssertTrue(credentials.contains("rejected the credentials of user 'sluice'"), credentials)
        XCTAssertFalse(credentials.contains("wrong-pw"), credentials)
        let database = try openError(#","database":"nodb""#, table: "errs")
        XCTAssertTrue(database.contains("database nodb does not exist"), database)
    }
}

private extension ClickHouseSink {
    var exactlyOnceDelivery: ExactlyOnceDelivery { delivery as! ExactlyOnceDelivery }
    func waitForCommits() throws { try exactlyOnceDelivery.finishCommits() }
    func queryID(epoch: UInt64, block: Int) -> String { exactlyOnceDelivery.queryID(epoch: epoch, block: block) }
}
