import Foundation
import ServiceTestSupport
import XCTest

/// The sensors pipeline spread over instances and lanes, as separate processes on a topic of 6
/// partitions with a steady producer, their checkpoints and staging in one S3 bucket (moto_server)
/// and no shared disk: each instance writes under its own `instance-I/` prefix and a rescale
/// gathers the savepoints from there. 3 instances x 2 lanes; one whole instance (supervisor and
/// worker) killed with SIGKILL and started again; a rescale to 2 x 1 through a stop savepoint;
/// another to 4 x 1. Every valid reading ends up in ClickHouse exactly once and the dead letters
/// are exactly the malformed ones. On the way: a second process as the same instance is refused
/// (by the checkpoint folder's lock on one host, by the broker's Exclusive subscription
/// elsewhere), and a layout change from a plain checkpoint is refused.
final class ScaleOutTests: XCTestCase {
    private let topic = "persistent://public/default/sensors-scaled"
    private let token = "scale-out-test-token"

    /// One `sluice run` instance with its own admin port.
    private final class Instance {
        let index: Int
        let count: Int
        let adminPort = freePort()
        let process: StartedProcess

        init(_ index: Int, of count: Int, parallelism: Int, fromSavepoint: String?, environment: [String: String]) throws {
            self.index = index
            self.count = count
            var arguments = ["run", Built.packageRoot + "/pipelines/sensors.yaml", "--instance", "\(index)/\(count)",
                             "--admin", "127.0.0.1:\(adminPort)"]
            if let fromSavepoint { arguments += ["--from-savepoint", fromSavepoint] }
            var env = environment
            env["SLUICE_PARALLELISM"] = String(parallelism)
            process = try StartedProcess(Built.sluice, arguments, environment: env)
        }

        var admin: [String] { ["--admin", "127.0.0.1:\(adminPort)"] }
    }

    func testThreeByTwoKilledAndRescaledToTwoByOneThenFourByOne() throws {
        let n = 60_000
        let broker = try PulsarBroker(partitions: 6)
        let clickhouse = try ClickHouseServer()
        defer { clickhouse.destroy() }
        let dir = makeTemporaryDirectory("scale-out")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try createSensorTables(in: clickhouse)
        let malformedFile = dir + "/malformed.jsonl"
        let store = try ObjectStoreServer()
        try store.createBucket("scaled")
        let root = "s3://scaled/sensors"
        let environment = ["PULSAR_URL": broker.url, "PULSAR_TOPIC": topic, "PULSAR_SUBSCRIPTION": "scaled",
                           "CLICKHOUSE_URL": clickhouse.url, "CLICKHOUSE_DATABASE": "default", "CLICKHOUSE_USER": "default",
                           "CLICKHOUSE_PASSWORD": "", "SLUICE_CHECKPOINT_DIR": root, "SLUICE_CHECKPOINT_INTERVAL": "500ms",
                           "SLUICE_LOCAL_DIR": dir + "/local", "SLUICE_ADMIN_TOKEN": token,
                           "AWS_ENDPOINT_URL": store.endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"]
        let producer = try StartedProcess(PulsarBroker.python, [Built.packageRoot + "/Tests/Fixtures/sensors/produce_sensors.py",
                                                                broker.url, topic, String(n), malformedFile, "--rate", "2000"])
        var everyInstance: [Instance] = []
        defer {
            for instance in everyInstance where instance.process.process.isRunning {
                for child in instance.process.children() { kill(child, SIGKILL) }
                kill(instance.process.pid, SIGKILL)
            }
        }
        func start(_ count: Int, parallelism: Int, fromSavepoint: String? = nil) throws -> [Instance] {
            let started = try (0..<count).map { try Instance($0, of: count, parallelism: parallelism, fromSavepoint: fromSavepoint, environment: environment) }
            everyInstance += started
            for instance in started { try instance.process.waitForLog(" complete in ", timeout: 90) }
            return started
        }
        func stop(_ instances: [Instance], savepoint: String) throws {
            for instance in instances {
                let stopped = try runProcess(Built.sluice, ["stop", "--savepoint", savepoint] + instance.admin, environment: ["SLUICE_ADMIN_TOKEN": token], timeout: 120)
                XCTAssertEqual(stopped.status, 0, stopped.output + instance.process.stderrText.suffix(3000))
                XCTAssertTrue(stopped.stdout.contains("the pipeline has stopped"), stopped.output)
                let result = try instance.process.wait(timeout: 60)
                XCTAssertEqual(result.status, 0, String(result.stderr.suffix(3000)))
                XCTAssertTrue(result.stderr.contains("savepoint '\(savepoint)' holds no uncommitted epoch"), String(result.stderr.suffix(3000)))
            }
        }

        // 3 instances x 2 lanes: lane L of 6 owns partition L.
        var instances = try start(3, parallelism: 2)
        try instances[1].process.waitForLog("as lane 3 of 6", timeout: 30)
        XCTAssertTrue(instances[1].process.stderrText.contains("sensors-scaled-partition-2 as lane 2 of 6"), instances[1].process.stderrText.suffix(3000).description)

        // Each lane says which partition it reads.
        let status = try runProcess(Built.sluice, ["status"] + instances[0].admin, environment: ["SLUICE_ADMIN_TOKEN": token], timeout: 30)
        XCTAssertTrue(status.stdout.contains("instance 0 of 3, 2 lane(s) each: lanes 0, 1 of 6"), status.output)
        XCTAssertTrue(status.stdout.contains("reads sensors-scaled-partition-1 (lane 1 of 6)"), status.output)

        // A second process as instance 0 on this host: the lock in its local directory refuses it.
        let twin = try runProcess(Built.sluice, ["run", Built.packageRoot + "/pipelines/sensors.yaml", "--instance", "0/3"],
                                  environment: environment.merging(["SLUICE_PARALLELISM": "2"]) { $1 }, timeout: 60)
        XCTAssertNotEqual(twin.status, 0)
        XCTAssertTrue(twin.stderr.contains("is in use by another sluice process"), twin.output)
        // Elsewhere (its own folder): the broker refuses the partitions instance 0 already reads.
        let elsewhere = try StartedProcess(Built.sluice, ["worker", Built.packageRoot + "/pipelines/sensors.yaml", "--instance", "0/3"],
                                           environment: environment.merging(["SLUICE_PARALLELISM": "2", "SLUICE_CHECKPOINT_DIR": "s3://scaled/elsewhere",
                                                                                      "SLUICE_LOCAL_DIR": dir + "/elsewhere"]) { $1 })
        let refused = try elsewhere.wait(timeout: 120)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("cannot subscribe 'scaled'"), String(refused.stderr.suffix(3000)))
        XCTAssertFalse(refused.stderr.contains("checkpoint 1 complete"), String(refused.stderr.suffix(3000)))

        // Instance 1 dies whole, mid-stream, and comes back with the same identity.
        sleep(2)
        for child in instances[1].process.children() { kill(child, SIGKILL) }
        kill(instances[1].process.pid, SIGKILL)
        _ = try? instances[1].process.wait(timeout: 10)
        let restarted = try Instance(1, of: 3, parallelism: 2, fromSavepoint: nil, environment: environment)
        everyInstance.append(restarted)
        try restarted.process.waitForLog("restoring checkpoint", timeout: 60)
        try restarted.process.waitForLog(" complete in ", timeout: 60)
        instances[1] = restarted
        sleep(2)

        // Rescale 3 x 2 -> 2 x 1, mid-stream.
        try stop(instances, savepoint: "rescale-1")
        let listed = try runProcess(Built.sluice, ["checkpoints", "list", root + "/instance-2"], environment: environment)
        XCTAssertTrue(listed.stdout.split(separator: "\n").contains { $0.contains("savepoint 'rescale-1'") && $0.contains("instance 2 of 3 x 2") && $0.contains("epochs committed") },
                      listed.output)
        instances = try start(2, parallelism: 1, fromSavepoint: "rescale-1")
        XCTAssertTrue(instances[0].process.stderrText.contains("rescaling from savepoint 'rescale-1' of layout 3 x 2"), instances[0].process.stderrText.suffix(3000).description)
        sleep(3)

        // Rescale 2 x 1 -> 4 x 1.
        try stop(instances, savepoint: "rescale-2")
        instances = try start(4, parallelism: 1, fromSavepoint: "rescale-2")

        XCTAssertEqual(try producer.wait(timeout: 120).status, 0, producer.stderrText)
        try waitForSensorReadings(n, in: clickhouse, timeout: 180)
        for instance in instances { kill(instance.process.pid, SIGTERM) }
        for instance in instances {
            let result = try instance.process.wait(timeout: 60)
            XCTAssertEqual(result.status, 0, String(result.stderr.suffix(3000)))
        }

        let malformed = try String(contentsOfFile: malformedFile, encoding: .utf8).split(separator: "\n").count
        let valid = n - malformed
        XCTAssertEqual(malformed, n / 100)
        XCTAssertEqual(try clickhouse.scalar("SELECT count() FROM sensor_readings"), String(valid))
        XCTAssertEqual(try clickhouse.scalar("SELECT uniqExact(seq) FROM sensor_readings"), String(valid))
        XCTAssertEqual(try clickhouse.scalar("SELECT count() FROM sensor_readings_errors"), String(malformed))
        XCTAssertEqual(try clickhouse.scalar("SELECT uniqExact(message_id) FROM sensor_readings_errors"), String(malformed))
        XCTAssertEqual(try clickhouse.scalar("SELECT countIf(seq % 100 = 37) FROM sensor_readings"), "0")
        // Every layout had several instances, each under its own prefix of the one bucket.
        let keys = try store.keys("scaled", prefix: "sensors/")
        XCTAssertFalse(keys.isEmpty)
        XCTAssertEqual(keys.filter { !$0.hasPrefix("sensors/instance-") }, [], "nothing outside an instance's prefix")
        XCTAssertEqual(Set(keys.compactMap { $0.split(separator: "/").dropFirst().first }), ["instance-0", "instance-1", "instance-2", "instance-3"])

        // The last layout stopped with plain final checkpoints: another layout cannot start
        // from them.
        let fromCheckpoint = try runProcess(Built.sluice, ["run", Built.packageRoot + "/pipelines/sensors.yaml", "--instance", "0/2"],
                                            environment: environment.merging(["SLUICE_PARALLELISM": "1"]) { $1 }, timeout: 60)
        XCTAssertEqual(fromCheckpoint.status, 78, fromCheckpoint.output)
        XCTAssertTrue(fromCheckpoint.stderr.contains("A layout changes only through a savepoint of every instance"), fromCheckpoint.output)
    }

    /// More lanes than partitions: the lanes that own none idle and say so, the others read;
    /// a non-partitioned topic goes to lane 0 alone.
    func testLanesWithoutAPartitionIdleAndSaySo() throws {
        let broker = try PulsarBroker()
        let dir = makeTemporaryDirectory("idle-lanes")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try broker.python("produce.py", [broker.url, "single", "500", "--batch", "50"])
        let adminPort = freePort()
        try """
        name: idle-lanes
        parallelism: 2
        source: { plugin: pulsar-source, config: { service_url: "\(broker.url)", topic: single, subscription: idle } }
        sink: { plugin: file-sink, config: { directory: \(dir)/out } }
        checkpointing: { interval: 200ms, directory: \(dir)/checkpoints }
        """.write(toFile: dir + "/pipeline.yaml", atomically: true, encoding: .utf8)
        let run = try StartedProcess(Built.sluice, ["run", dir + "/pipeline.yaml", "--admin", "127.0.0.1:\(adminPort)"],
                                     environment: ["SLUICE_ADMIN_TOKEN": token])
        defer { if run.process.isRunning { kill(run.pid, SIGKILL) } }
        let deadline = Date().addingTimeInterval(60)
        var committed = 0
        while committed < 500 && Date() < deadline {
            usleep(100_000)
            committed = committedLines(in: dir + "/out")
        }
        XCTAssertEqual(committed, 500, run.stderrText)
        XCTAssertTrue(run.stderrText.contains("only lane 0 of 2 reads it"), run.stderrText)
        let status = try runProcess(Built.sluice, ["status", "--admin", "127.0.0.1:\(adminPort)"], environment: ["SLUICE_ADMIN_TOKEN": token], timeout: 30)
        XCTAssertTrue(status.stdout.contains("idle: lane 1 of 2 owns no partition of single"), status.output)
        XCTAssertTrue(status.stdout.contains("reads single (lane 0 of 2)"), status.output)
        kill(run.pid, SIGTERM)
        XCTAssertEqual(try run.wait(timeout: 60).status, 0)

        // Bounded (stop_after_messages is per lane): the idle lane's stream ends at once, so the
        // pipeline ends after lane 0's 500.
        try """
        name: idle-bounded
        parallelism: 2
        source: { plugin: pulsar-source, config: { service_url: "\(broker.url)", topic: single, subscription: bounded, stop_after_messages: 500 } }
        sink: { plugin: file-sink, config: { directory: \(dir)/bounded } }
        checkpointing: { interval: 200ms, directory: \(dir)/bounded-checkpoints }
        """.write(toFile: dir + "/bounded.yaml", atomically: true, encoding: .utf8)
        let bounded = try runProcess(Built.sluice, ["run", dir + "/bounded.yaml"], timeout: 60)
        XCTAssertEqual(bounded.status, 0, bounded.stderr)
        XCTAssertTrue(bounded.stderr.contains("final checkpoint"), bounded.stderr)
        XCTAssertEqual(committedLines(in: dir + "/bounded"), 500)
    }

    /// Lines in the file sink's part files under `directory`.
    private func committedLines(in directory: String) -> Int {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return files.filter { $0.hasPrefix("part-") }.reduce(0) {
            $0 + ((try? String(contentsOfFile: directory + "/" + $1, encoding: .utf8))?.split(separator: "\n").count ?? 0)
        }
    }
}
