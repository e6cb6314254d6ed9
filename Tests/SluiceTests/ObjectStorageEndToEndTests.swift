import Foundation
import XCTest

/// The seed's job with its checkpoints and staged epochs on S3-compatible storage (moto_server):
/// the worker killed, then the whole "pod" (supervisor and worker) killed and its local disk
/// wiped before it comes back, then the store paused for 20 s. Every reading lands exactly
/// once, and the second life never restarts its worker.
final class ObjectStorageEndToEndTests: XCTestCase {
    func testSensorsPipelineOnS3SurvivesKillsAnEmptyDiskAndAStoreOutage() throws {
        let n = 120_000
        let broker = try PulsarBroker()
        let clickhouse = try ClickHouseServer()
        defer { clickhouse.destroy() }
        let store = try ObjectStoreServer()
        try store.createBucket("sluice-state")
        let dir = makeTemporaryDirectory("s3-e2e")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try createSensorTables(in: clickhouse)
        let topic = "persistent://public/default/sensors"
        let malformedFile = dir + "/malformed.jsonl"
        let producer = try StartedProcess(PulsarBroker.python, [Built.packageRoot + "/Tests/Fixtures/sensors/produce_sensors.py",
                                                                broker.url, topic, String(n), malformedFile, "--rate", "6000"])
        let environment = ["PULSAR_URL": broker.url, "PULSAR_TOPIC": topic, "PULSAR_SUBSCRIPTION": "s3",
                           "CLICKHOUSE_URL": clickhouse.url, "CLICKHOUSE_DATABASE": "default", "CLICKHOUSE_USER": "default",
                           "CLICKHOUSE_PASSWORD": "", "SLUICE_CHECKPOINT_DIR": "s3://sluice-state/pipelines/sensors",
                           "SLUICE_LOCAL_DIR": dir + "/local", "SLUICE_CHECKPOINT_INTERVAL": "1s",
                           "AWS_ENDPOINT_URL": store.endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                           "AWS_REGION": "us-east-1"]
        let pipeline = Built.packageRoot + "/pipelines/sensors.yaml"

        // First life: the worker is killed once; the supervisor restarts it.
        let first = try StartedProcess(Built.sluice, ["run", pipeline], environment: environment, expectingRestarts: true)
        defer { if first.process.isRunning { kill(first.pid, SIGKILL) } }
        try first.waitForLog("checkpoint 1 complete", timeout: 60)
        let firstWorker = try XCTUnwrap(first.children().first)
        usleep(UInt32.random(in: 300_000...900_000))
        kill(firstWorker, SIGKILL)
        try waitUntil(timeout: 60, "a new worker after the kill") { first.children().contains { $0 != firstWorker } }
        let secondWorker = try XCTUnwrap(first.children().first { $0 != firstWorker })
        try first.waitForLog("restoring checkpoint", timeout: 60)
        usleep(UInt32.random(in: 1_500_000...2_500_000))

        // The pod goes: supervisor and worker are killed at once, and the disk goes with them.
        kill(first.pid, SIGKILL)
        kill(secondWorker, SIGKILL)
        _ = try first.wait(timeout: 30)
        try waitUntil(timeout: 30, "the worker to be gone") { kill(secondWorker, 0) != 0 }
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/local"), "the local directory was in use")
        try FileManager.default.removeItem(atPath: dir + "/local")

        // It comes back on an empty disk: everything it needs is in the bucket. No restart
        // of its worker is expected from here on.
        let second = try StartedProcess(Built.sluice, ["run", pipeline], environment: environment)
        defer { if second.process.isRunning { kill(second.pid, SIGKILL) } }
        try second.waitForLog("restoring checkpoint", timeout: 60)
        try waitUntil(timeout: 60, "a checkpoint of the second life") { second.stderrText.contains(" complete in ") }

        // The store stops answering for 20 s (paused, so it keeps its objects).
        kill(store.pid, SIGSTOP)
        sleep(20)
        kill(store.pid, SIGCONT)

        XCTAssertEqual(try producer.wait(timeout: 120).status, 0, producer.stderrText)
        try waitForSensorReadings(n, in: clickhouse, timeout: 240)
        kill(second.pid, SIGTERM)
        let result = try second.wait(timeout: 90)
        XCTAssertEqual(result.status, 0, String(result.stderr.suffix(4000)))
        // The outage was felt and waited out. How it shows depends on what the pause caught: a
        // manifest write times out after 10 s and is retried (logged); a sink's staged upload
        // waits up to 30 s for its answer, so its checkpoint just takes as long as the pause.
        let lines = result.stderr.split(separator: "\n")
        let retries = lines.filter { $0.contains("s3://sluice-state") && $0.contains("retrying in") }
        let longestCheckpoint = lines.compactMap { line -> Double? in
            guard line.contains("checkpoint"), let range = line.range(of: " complete in ") else { return nil }
            return Double(line[range.upperBound...].prefix { $0.isNumber || $0 == "." })
        }.max() ?? 0
        XCTAssertTrue(!retries.isEmpty || longestCheckpoint >= 10_000,
                      "no request was retried and no checkpoint waited for the store (longest \(longestCheckpoint) ms): \(result.stderr.suffix(4000))")
        print("the longest checkpoint took \(longestCheckpoint) ms; store retries during the outage:\n" + retries.prefix(6).joined(separator: "\n"))

        let malformed = try String(contentsOfFile: malformedFile, encoding: .utf8).split(separator: "\n").count
        let valid = n - malformed
        XCTAssertEqual(try clickhouse.scalar("SELECT count() FROM sensor_readings"), String(valid), String(result.stderr.suffix(3000)))
        XCTAssertEqual(try clickhouse.scalar("SELECT uniqExact(seq) FROM sensor_readings"), String(valid))
        XCTAssertEqual(try clickhouse.scalar("SELECT count() FROM sensor_readings_errors"), String(malformed))
        XCTAssertEqual(try clickhouse.scalar("SELECT uniqExact(message_id) FROM sensor_readings_errors"), String(malformed))

        // What the bucket holds: checkpoints and the staging of both sinks; nothing local.
        let keys = try store.keys("sluice-state", prefix: "pipelines/sensors/")
        XCTAssertTrue(keys.contains { $0.hasPrefix("pipelines/sensors/checkpoints/chk-") }, "\(keys)")
        XCTAssertTrue(keys.contains { $0.hasPrefix("pipelines/sensors/savepoints/") } == false, "\(keys)")
        XCTAssertFalse(keys.contains { $0.contains("/operators/") && $0.hasSuffix(".blocks") }, "every sealed epoch was committed: \(keys)")
        let listing = try runProcess(Built.sluice, ["checkpoints", "list", "s3://sluice-state/pipelines/sensors"], environment: environment)
        XCTAssertEqual(listing.status, 0, listing.output)
        XCTAssertTrue(listing.stdout.contains("checkpoint ") && listing.stdout.contains("pipeline sensors"), listing.stdout)
        XCTAssertFalse(listing.stdout.contains("INVALID"), listing.stdout)
    }

    /// Epochs of tens of megabytes, staged as multipart uploads: the worker is killed twice
    /// while an upload is in flight, then three times at random moments (manifest writes and
    /// retention run every 300 ms). The file sink's output holds every record exactly once,
    /// and the bucket keeps no upload, pending object or sealed epoch at the end.
    func testKillsDuringUploadsManifestWritesAndRetentionLoseNothing() throws {
        let dir = makeTemporaryDirectory("s3-kills")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lineCount = 20_000, repeats = 8
        let padding = String(repeating: "x", count: 400)
        try (0..<lineCount).map { "line-\($0)-\(padding)" }.joined(separator: "\n").write(toFile: dir + "/in.txt", atomically: true, encoding: .utf8)
        let store = try ObjectStoreServer()
        try store.createBucket("kills")
        try """
        name: kills
        queue_capacity: 16    # the source runs ahead while the sink uploads a part: epochs pass 8 MiB
        source: { plugin: line-source, config: { path: \(dir)/in.txt, repeat: \(repeats), batch_size: 2000 } }
        sink: { plugin: file-sink, config: { directory: \(dir)/out } }
        checkpointing: { interval: 300ms, directory: "s3://kills/p", local_directory: \(dir)/local, retained: 2 }
        """.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        let environment = ["AWS_ENDPOINT_URL": store.endpoint, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"]
        let supervisor = try StartedProcess(Built.sluice, ["run", dir + "/p.yaml"], environment: environment, expectingRestarts: true)
        defer { if supervisor.process.isRunning { kill(supervisor.pid, SIGKILL) } }

        var killed = Set<Int32>()
        func nextWorker() throws -> Int32 {
            var worker: Int32?
            try waitUntil(timeout: 60, "a worker") {
                worker = supervisor.children().first { !killed.contains($0) }
                return worker != nil || !supervisor.process.isRunning
            }
            guard let worker else { throw TestFailure("the pipeline ended before the kills:\n\(supervisor.stderrText.suffix(3000))") }
            return worker
        }
        for _ in 0..<2 {
            let worker = try nextWorker()
            try waitUntil(timeout: 60, "an upload in flight") { try !store.incompleteUploads("kills").isEmpty }
            kill(worker, SIGKILL)
            killed.insert(worker)
        }
        for _ in 0..<3 {
            let worker = try nextWorker()
            usleep(UInt32.random(in: 500_000...1_500_000))
            kill(worker, SIGKILL)
            killed.insert(worker)
        }
        let result = try supervisor.wait(timeout: 240)
        XCTAssertEqual(result.status, 0, String(result.stderr.suffix(4000)))
        XCTAssertEqual(result.stderr.components(separatedBy: "signal 9 (SIGKILL)").count - 1, 5, String(result.stderr.suffix(4000)))

        var counts: [Substring: Int] = [:]
        var total = 0
        for file in try FileManager.default.contentsOfDirectory(atPath: dir + "/out") where file.hasPrefix("part-") {
            let text = try String(contentsOfFile: dir + "/out/" + file, encoding: .utf8)
            for line in text.split(separator: "\n") {
                counts[line.split(separator: "-").dropFirst().first ?? "", default: 0] += 1
                total += 1
            }
        }
        XCTAssertEqual(total, lineCount * repeats, "every record once")
        XCTAssertEqual(counts.count, lineCount)
        XCTAssertEqual(Set(counts.values), [repeats], "no record lost or written twice")
        XCTAssertEqual(try store.incompleteUploads("kills"), [], "uploads of killed writers are aborted")
        let keys = try store.keys("kills", prefix: "p/")
        XCTAssertFalse(keys.contains { $0.contains("/.pending/") || $0.contains("sealed-") }, "\(keys)")
        XCTAssertLessThanOrEqual(keys.filter { $0.hasPrefix("p/checkpoints/") }.count, 3, "retention: \(keys)")
    }

    /// `validate --connect` names what is wrong with the store in one line: a missing bucket,
    /// credentials the store refuses, a store that does not answer.
    func testValidateConnectNamesAMissingBucketRefusedCredentialsAndAnUnreachableStore() throws {
        let dir = makeTemporaryDirectory("s3-validate")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "a\n".write(toFile: dir + "/in.txt", atomically: true, encoding: .utf8)
        func pipeline(_ directory: String) throws -> String {
            let path = dir + "/p-\(UUID().uuidString.prefix(6)).yaml"
            try """
            name: lines
            source: { plugin: line-source, config: { path: \(dir)/in.txt } }
            sink: { plugin: file-sink, config: { directory: \(dir)/out } }
            checkpointing: { interval: 1s, directory: "\(directory)", local_directory: \(dir)/local }
            """.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let store = try ObjectStoreServer()
        try store.createBucket("present")
        let credentials = ["AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_ENDPOINT_URL": store.endpoint]

        let good = try runProcess(Built.sluice, ["validate", "--connect", try pipeline("s3://present/lines")], environment: credentials)
        XCTAssertEqual(good.status, 0, good.output)
        XCTAssertTrue(good.stdout.contains("checkpointing: s3://present/lines/ reachable with access key test (from environment)"), good.stdout)

        let missing = try runProcess(Built.sluice, ["validate", "--connect", try pipeline("s3://absent/lines")], environment: credentials)
        XCTAssertEqual(missing.status, 78, missing.output)
        XCTAssertTrue(missing.stderr.contains("bucket 'absent' does not exist at \(store.endpoint)"), missing.stderr)

        let noKeys = try runProcess(Built.sluice, ["validate", "--connect", try pipeline("s3://present/lines")],
                                    environment: ["AWS_ENDPOINT_URL": store.endpoint, "HOME": dir, "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "",
                                                  "AWS_ROLE_ARN": "", "AWS_WEB_IDENTITY_TOKEN_FILE": ""])
        XCTAssertEqual(noKeys.status, 78, noKeys.output)
        XCTAssertTrue(noKeys.stderr.contains("no AWS credentials"), noKeys.stderr)

        // A store that checks signatures (moto with authentication on) refuses unknown keys.
        let strict = try ObjectStoreServer(environment: ["INITIAL_NO_AUTH_ACTION_COUNT": "0"])
        let refused = try runProcess(Built.sluice, ["validate", "--connect", try pipeline("s3://present/lines")],
                                     environment: credentials.merging(["AWS_ENDPOINT_URL": strict.endpoint]) { $1 })
        XCTAssertEqual(refused.status, 78, refused.output)
        XCTAssertTrue(refused.stderr.contains("refused access key test (from environment)"), refused.stderr)
        XCTAssertFalse(refused.stderr.contains("AWS_SECRET_ACCESS_KEY=test"), "no secret is printed")

        let unreachable = try runProcess(Built.sluice, ["validate", "--connect", try pipeline("s3://present/lines")],
                                         environment: credentials.merging(["AWS_ENDPOINT_URL": "http://127.0.0.1:\(freePort())"]) { $1 })
        XCTAssertEqual(unreachable.status, 78, unreachable.output)
        XCTAssertTrue(unreachable.stderr.contains("unreachable"), unreachable.stderr)
    }
}

/// Polls `condition` every 50 ms until it holds, or fails naming `what`.
func waitUntil(timeout: TimeInterval, _ what: String, _ condition: () throws -> Bool) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return }
        usleep(50_000)
    }
    throw TestFailure("timed out after \(Int(timeout)) s waiting for \(what)")
}
