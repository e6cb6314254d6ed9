import Foundation
import XCTest

/// Hot-swapping the ClickHouse sink of pipelines/sensors.yaml while 200,000 readings flow:
/// table A -> table B -> a changed batch configuration -> a copied .so -> a rebuilt .so at the
/// same path -> back to table A, plus one swap to a sink that cannot open (rolled back). The
/// union of the tables holds every valid reading exactly once, and /metrics agrees.
final class SensorsSwapTests: XCTestCase {
    func testFiveSwapsAndARollbackLoseAndRepeatNothing() throws {
        let n = 200_000
        let broker = try PulsarBroker()
        let clickhouse = try ClickHouseServer()
        defer { clickhouse.destroy() }
        let dir = makeTemporaryDirectory("sensors-swap")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ddl = try String(contentsOfFile: Built.packageRoot + "/pipelines/sensors.sql", encoding: .utf8)
        for statement in ddl.components(separatedBy: ";") {
            let sql = statement.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("--") }.joined(separator: "\n")
            guard !sql.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { continue }
            try clickhouse.query(sql)
            if sql.contains("CREATE TABLE sensor_readings (") {
                try clickhouse.query(sql.replacingOccurrences(of: "sensor_readings (", with: "sensor_readings_b ("))
            }
        }
        let topic = "persistent://public/default/sensors"
        let producer = try StartedProcess(PulsarBroker.python, [Built.packageRoot + "/Tests/Fixtures/sensors/produce_sensors.py",
                                                                broker.url, topic, String(n), dir + "/malformed.jsonl", "--rate", "20000"])
        let port = freePort(), token = "swap-\(UUID().uuidString)"
        let environment = ["PULSAR_URL": broker.url, "PULSAR_TOPIC": topic, "CLICKHOUSE_URL": clickhouse.url,
                           "CLICKHOUSE_PASSWORD": "", "SLUICE_CHECKPOINT_DIR": dir + "/checkpoints",
                           "SLUICE_CHECKPOINT_INTERVAL": "1s", "SLUICE_ADMIN_TOKEN": token]
        let supervisor = try StartedProcess(Built.sluice, ["run", Built.packageRoot + "/pipelines/sensors.yaml", "--admin", "127.0.0.1:\(port)"],
                                            environment: environment)
        defer { if supervisor.process.isRunning { kill(supervisor.pid, SIGKILL) } }
        let api = AdminHTTP(base: "http://127.0.0.1:\(port)", token: token)
        try api.waitUntilUp()
        try supervisor.waitForLog("checkpoint 1 complete", timeout: 60)
        let worker = supervisor.children().first

        let library = dir + "/libcopied-clickhouse-sink.so"
        try FileManager.default.copyItem(atPath: Built.productsDirectory + "/libSluiceClickHouseSink.so", toPath: library)
        func config(_ table: String, _ extra: String = "") -> String {
            "url: \(clickhouse.url)\ntable: \(table)\nuser: default\n\(extra)"
        }
        let swaps: [(plugin: String, yaml: String)] = [
            ("clickhouse-sink", config("sensor_readings_b")),
            ("clickhouse-sink", config("sensor_readings_b", "max_block_rows: 3000")),
            (library, config("sensor_readings_b")),
            (library, config("sensor_readings_b", "max_block_rows: 7000")),
            ("clickhouse-sink", config("sensor_readings")),
        ]
        for (i, swap) in swaps.enumerated() {
            if i == 3 {  // the .so at the same path is replaced: the swap loads its new code
                try FileManager.default.removeItem(atPath: library)
                try FileManager.default.copyItem(atPath: Built.productsDirectory + "/libSluiceClickHouseSink.so", toPath: library)
            }
            if i == 2 {
                let failed = try api.request("POST", "/sink", json: ["plugin": "clickhouse-sink", "config_yaml": config("no_such_table")])
                XCTAssertEqual(failed.status, 422, failed.body)
                XCTAssertTrue(failed.body.contains("no_such_table"), failed.body)
                XCTAssertTrue(failed.body.contains("nothing changed, the old sink goes on"), failed.body)
            }
            let answer = try api.json("POST", "/sink", json: ["plugin": swap.plugin, "config_yaml": swap.yaml, "file": "swap\(i).yaml"])
            XCTAssertNotNil(answer["checkpoint"], "\(answer)")
            sleep(1)
        }
        XCTAssertEqual(try producer.wait(timeout: 120).status, 0, producer.stderrText)

        let malformed = try String(contentsOfFile: dir + "/malformed.jsonl", encoding: .utf8).split(separator: "\n").count
        let union = "(SELECT seq FROM sensor_readings UNION ALL SELECT seq FROM sensor_readings_b)"
        let deadline = Date().addingTimeInterval(180)
        while Date() < deadline {
            let rows = Int(try clickhouse.scalar("SELECT count() FROM \(union)")) ?? 0
            let dead = Int(try clickhouse.scalar("SELECT count() FROM sensor_readings_errors")) ?? 0
            if rows + dead >= n { break }
            sleep(1)
        }
        // Everything read: the source's lag (the broker's backlog beyond what it emitted,
        // asked every 2 s) comes down to 0, in the status and as a metric per partition.
        var status: [String: Any] = [:]
        let lagDeadline = Date().addingTimeInterval(20)
        repeat {
            status = try api.json("GET", "/status")
            if status["lag"] as? Int == 0 { break }
            usleep(100_000)
        } while Date() < lagDeadline
        XCTAssertEqual(status["lag"] as? Int, 0, "\(status)")
        let sourceStatus = (status["operators"] as? [[String: Any]])?.first
        XCTAssertEqual(sourceStatus?["lag_by_partition"] as? [String: Int], ["persistent://public/default/sensors": 0])
        _ = try api.json("POST", "/checkpoints")
        // Every reading the source emitted is committed by now: each counts once in the
        // publish-to-commit histogram.
        var metrics = ""
        let metricsDeadline = Date().addingTimeInterval(10)
        repeat {
            metrics = try api.request("GET", "/metrics").body
            if metrics.contains(#"sluice_commit_latency_seconds_count{pipeline="sensors"} \#(n)"#) { break }
            usleep(100_000)
        } while Date() < metricsDeadline
        XCTAssertTrue(metrics.contains(#"sluice_commit_latency_seconds_count{pipeline="sensors"} \#(n)"#), metrics)
        XCTAssertTrue(metrics.contains(#"sluice_source_lag_messages{"#) && metrics.contains(#"partition="persistent://public/default/sensors""#), metrics)
        XCTAssertEqual(supervisor.children().first, worker, "swaps never restart the worker")
        kill(supervisor.pid, SIGTERM)
        let result = try supervisor.wait(timeout: 60)
        XCTAssertEqual(result.status, 0, String(result.stderr.suffix(3000)))

        let valid = n - malformed
        let rowsA = Int(try clickhouse.scalar("SELECT count() FROM sensor_readings")) ?? 0
        let rowsB = Int(try clickhouse.scalar("SELECT count() FROM sensor_readings_b")) ?? 0
        XCTAssertGreaterThan(rowsA, 0)
        XCTAssertGreaterThan(rowsB, 0)
        XCTAssertEqual(rowsA + rowsB, valid)
        XCTAssertEqual(try clickhouse.scalar("SELECT uniqExact(seq) FROM \(union)"), String(valid))
        XCTAssertEqual(try clickhouse.scalar("SELECT count() FROM sensor_readings_errors"), String(malformed))
        XCTAssertEqual(result.stderr.components(separatedBy: "sink swapped to").count - 1, 5, String(result.stderr.suffix(3000)))

        // The committed-rows counter, read before the stop, counts every row committed by then.
        let line = metrics.split(separator: "\n").first { $0.hasPrefix("sluice_sink_rows_committed_total{") }
        let committed = line.flatMap { Double($0.split(separator: " ").last!) }.map(Int.init)
        XCTAssertEqual(committed, valid, "sluice_sink_rows_committed_total matches the rows in ClickHouse")
        let deadLine = metrics.split(separator: "\n").first { $0.hasPrefix("sluice_dead_letters_committed_total{") }
        XCTAssertEqual(deadLine.flatMap { Double($0.split(separator: " ").last!) }.map(Int.init), malformed)
    }
}
