import Foundation
import XCTest

/// The seed's job under faults: 200,000 readings (1 % malformed) from the official client,
/// pipelines/sensors.yaml exactly-once with checkpoints every second, the worker killed at 5
/// random moments, ClickHouse restarted once and the broker restarted once. At the end every
/// valid reading is in ClickHouse exactly once and the dead-letter table holds exactly the
/// malformed ones.
final class SensorsEndToEndTests: XCTestCase {
    func testSensorsPipelineSurvivesKillsAndRestarts() throws {
        let n = 200_000
        let broker = try PulsarBroker()
        let clickhouse = try ClickHouseServer()
        defer { clickhouse.destroy() }
        let dir = makeTemporaryDirectory("sensors-e2e")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try createSensorTables(in: clickhouse)
        let topic = "persistent://public/default/sensors"
        let malformedFile = dir + "/malformed.jsonl"
        let producer = try StartedProcess(PulsarBroker.python, [Built.packageRoot + "/Tests/Fixtures/sensors/produce_sensors.py",
                                                                broker.url, topic, String(n), malformedFile, "--rate", "25000"])
        let environment = ["PULSAR_URL": broker.url, "PULSAR_TOPIC": topic, "PULSAR_SUBSCRIPTION": "e2e",
                           "CLICKHOUSE_URL": clickhouse.url, "CLICKHOUSE_DATABASE": "default", "CLICKHOUSE_USER": "default",
                           "CLICKHOUSE_PASSWORD": "", "SLUICE_CHECKPOINT_DIR": dir + "/checkpoints", "SLUICE_CHECKPOINT_INTERVAL": "1s"]
        let supervisor = try StartedProcess(Built.sluice, ["run", Built.packageRoot + "/pipelines/sensors.yaml"], environment: environment, expectingRestarts: true)
        defer { if supervisor.process.isRunning { kill(supervisor.pid, SIGKILL) } }
        try supervisor.waitForLog("checkpoint 1 complete", timeout: 60)
        // The shipped pipeline runs its parser on the source's thread (`chain_transforms: true`).
        XCTAssertTrue(supervisor.stderrText.contains("(transforms on the source's thread)"), supervisor.stderrText)

        var rng = SystemRandomNumberGenerator()
        /// Kills the worker at a random moment once it has run a little (the supervisor's
        /// backoff grows with each kill, so wait for the new worker first).
        var killed = Set<Int32>()
        func killWorker() throws {
            let deadline = Date().addingTimeInterval(60)
            var worker: Int32?
            while worker == nil && Date() < deadline {
                worker = supervisor.children().first { !killed.contains($0) }
                if worker == nil { usleep(50_000) }
            }
            guard let worker else { throw TestFailure("no worker to kill:\n\(supervisor.stderrText.suffix(3000))") }
            usleep(UInt32.random(in: 400_000...1_200_000, using: &rng))
            kill(worker, SIGKILL)
            killed.insert(worker)
        }
        let kills = 5
        for step in 0..<kills {
            try killWorker()
            if step == 2 {
                clickhouse.stop()
                sleep(3)
                try clickhouse.start()
            }
        }
        XCTAssertEqual(try producer.wait(timeout: 120).status, 0, producer.stderrText)
        broker.stop()
        sleep(2)
        try broker.start()

        // Wait until every reading is either a row or a dead letter.
        try waitForSensorReadings(n, in: clickhouse, timeout: 240)
        kill(supervisor.pid, SIGTERM)
        let result = try supervisor.wait(timeout: 60)
        XCTAssertEqual(result.status, 0, String(result.stderr.suffix(4000)))
        XCTAssertEqual(result.stderr.components(separatedBy: "signal 9 (SIGKILL)").count - 1, kills, String(result.stderr.suffix(4000)))

        let malformed = try String(contentsOfFile: malformedFile, encoding: .utf8).split(separator: "\n").count
        let valid = n - malformed
        XCTAssertEqual(malformed, n / 100, "1 % malformed")
        XCTAssertEqual(try clickhouse.scalar("SELECT count() FROM sensor_readings"), String(valid))
        XCTAssertEqual(try clickhouse.scalar("SELECT uniqExact(seq) FROM sensor_readings"), String(valid))
        XCTAssertEqual(try clickhouse.scalar("SELECT count() FROM sensor_readings_errors"), String(malformed))
        XCTAssertEqual(try clickhouse.scalar("SELECT uniqExact(message_id) FROM sensor_readings_errors"), String(malformed))
        // The malformed ones, no others: their seq (where the payload has one) is never a row.
        XCTAssertEqual(try clickhouse.scalar("SELECT countIf(seq % 100 = 37) FROM sensor_readings"), "0")
        let reasons = try clickhouse.query("SELECT extract(error_reason, '^[a-z0-9_]+') AS r, count() FROM sensor_readings_errors GROUP BY r ORDER BY r FORMAT TSV")
        XCTAssertEqual(reasons, "invalid_json\t400\ninvalid_utf8\t400\nmissing_field\t400\nout_of_range\t400\nwrong_type\t400\n")
    }
}
