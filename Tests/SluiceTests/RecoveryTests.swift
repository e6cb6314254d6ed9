import DurableFiles
import Foundation
import XCTest

/// Exactly-once through crashes: the C sequence source into the transactional file sink, the
/// worker killed again and again, the supervisor restoring the newest checkpoint each time.
final class RecoveryTests: XCTestCase {
    private var dir = ""

    override func setUp() { dir = makeTemporaryDirectory("recovery") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    private func writePipeline(count: Int, rate: Int, interval: String = "200ms", sourceExtra: String = "") -> String {
        let path = dir + "/pipeline.yaml"
        let yaml = """
        name: recovery
        source:
          plugin: \(Built.sequenceSource)
          config: { count: \(count), batch_size: 250, rate: \(rate)\(sourceExtra) }
        transforms:
          - plugin: pass-through
        sink:
          plugin: file-sink
          config: { directory: \(dir)/out }
        checkpointing:
          interval: \(interval)
          directory: \(dir)/checkpoints
          retained: 3
          mode: exactly-once
        restart: { initial_delay: 50ms, max_delay: 200ms, multiplier: 2 }
        """
        try! yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testSIGKILLAtTenRandomMomentsCommitsEveryValueExactlyOnce() throws {
        let n = 250_000
        let supervisor = try StartedProcess(Built.sluice, ["run", writePipeline(count: n, rate: 50_000)], expectingRestarts: true)
        // A checkpoint first, so the kills exercise a restore even when a loaded machine starts
        // each worker too slowly for one to complete between two kills.
        try supervisor.waitForLog("checkpoint 1 complete", timeout: 60)
        var generator = SystemRandomNumberGenerator()
        var kills = 0
        while kills < 10 {
            usleep(UInt32.random(in: 150_000...600_000, using: &generator))
            guard supervisor.process.isRunning else { break }
            guard let worker = supervisor.children().first else { continue }
            kill(worker, SIGKILL)
            kills += 1
        }
        let result = try supervisor.wait(timeout: 120)
        XCTAssertEqual(kills, 10, "the pipeline finished before 10 kills; raise count")
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr.components(separatedBy: "signal 9 (SIGKILL)").count - 1, kills, result.stderr)
        XCTAssertTrue(result.stderr.contains("restoring checkpoint"), result.stderr)
        assertExactlyOnce(try committedValues(in: dir + "/out"), n)
    }

    func testSegfaultInsidePluginIsRecovered() throws {
        let n = 60_000
        let marker = dir + "/segfaulted"
        let path = writePipeline(count: n, rate: 40_000, sourceExtra: ", segfault_at: 41234, segfault_marker: \(marker)")
        let result = try runProcess(Built.sluice, ["run", path], timeout: 120, expectingRestarts: true)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: marker), "the plugin never crashed")
        XCTAssertTrue(result.stderr.contains("signal 11 (SIGSEGV)"), result.stderr)
        XCTAssertTrue(result.stderr.contains("restoring checkpoint"), result.stderr)
        assertExactlyOnce(try committedValues(in: dir + "/out"), n)
    }

    func testSIGTERMStopsGracefullyWithAFinalCheckpoint() throws {
        let path = writePipeline(count: 0, rate: 20_000)
        let supervisor = try StartedProcess(Built.sluice, ["run", path])
        try supervisor.waitForLog("checkpoint 2 complete")
        kill(supervisor.pid, SIGTERM)
        let result = try supervisor.wait(timeout: 30)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("final checkpoint"), result.stderr)
        XCTAssertTrue(result.stderr.contains("stopped cleanly"), result.stderr)
        // Everything the source emitted before the final barrier is committed: 1...k, no gaps.
        let values = try committedValues(in: dir + "/out")
        XCTAssertGreaterThan(values.count, 0)
        assertExactlyOnce(values, values.count)

        // A second run resumes after the last committed value.
        let again = try StartedProcess(Built.sluice, ["run", path])
        try again.waitForLog("resuming at \(values.count + 1)")
        kill(again.pid, SIGTERM)
        XCTAssertEqual(try again.wait(timeout: 30).status, 0)
        let all = try committedValues(in: dir + "/out")
        assertExactlyOnce(all, all.count)
    }

    func testSIGTERMWhileTheWorkerIsStillStartingStopsIt() throws {
        // The signal arrives while plugins load and the checkpoint is restored: it must not be
        // lost (the worker would run forever) nor kill the worker outright.
        // Started as the supervisor starts workers: stop signals blocked until the handler is in
        // place. The first delay is 0: the signal is pending before the worker runs any code.
        let path = writePipeline(count: 0, rate: 20_000)
        for delay: UInt32 in [0, 1_000, 30_000, 80_000, 150_000] {
            let worker = try SpawnedLikeAWorker(Built.sluice, ["worker", path])
            if delay > 0 { usleep(delay) }
            kill(worker.pid, SIGTERM)
            let (termination, stderr) = try worker.wait(timeout: 30)
            XCTAssertEqual(termination, .exited(0), "stopped \(delay / 1000) ms after start:\n\(stderr)")
        }
    }

    /// A supervisor killed on its own (SIGKILL, the OOM killer) takes its worker with it: no
    /// orphan goes on consuming beside the worker a new supervisor starts.
    func testAWorkerDiesWithItsSupervisor() throws {
        let supervisor = try StartedProcess(Built.sluice, ["run", writePipeline(count: 0, rate: 20_000)])
        try supervisor.waitForLog("checkpoint 2 complete")
        let worker = try XCTUnwrap(supervisor.children().first)
        // The supervisor checked the plugins in a child and keeps none loaded; the worker has them.
        let mappedPlugins = { (pid: Int32) in
            (DurableFile.text("/proc/\(pid)/maps") ?? "").split(separator: "\n")
                .filter { $0.hasSuffix("libsequence-source.so") || $0.hasSuffix("libSluiceFileSink.so") }.count
        }
        XCTAssertEqual(mappedPlugins(supervisor.pid), 0)
        XCTAssertGreaterThan(mappedPlugins(worker), 0)
        kill(supervisor.pid, SIGKILL)
        _ = try supervisor.wait(timeout: 10)
        let deadline = Date().addingTimeInterval(5)
        while isAlive(worker) && Date() < deadline { usleep(10_000) }
        XCTAssertFalse(isAlive(worker), "worker \(worker) outlived its supervisor")
    }

    /// Two pipelines on one checkpoint directory: the second is refused, naming the first, and
    /// the first goes on alone (every value committed once).
    func testASecondPipelineOnTheSameCheckpointDirectoryIsRefused() throws {
        let n = 40_000
        let path = writePipeline(count: n, rate: 20_000)
        let first = try StartedProcess(Built.sluice, ["run", path])
        try first.waitForLog("checkpoint 1 complete")
        let second = try runProcess(Built.sluice, ["run", path], timeout: 30)
        XCTAssertEqual(second.status, 1, second.output)
        XCTAssertTrue(second.stderr.contains("checkpoint directory \(dir)/checkpoints is in use by another sluice process (pid \(first.pid))"), second.stderr)
        XCTAssertFalse(second.stderr.contains("worker started"), second.stderr)
        let byHand = try runProcess(Built.sluice, ["worker", path], timeout: 30)
        XCTAssertEqual(byHand.status, 1, byHand.output)
        XCTAssertTrue(byHand.stderr.contains("is in use by another sluice process (pid \(first.pid))"), byHand.stderr)
        let result = try first.wait(timeout: 60)
        XCTAssertEqual(result.status, 0, result.stderr)
        assertExactlyOnce(try committedValues(in: dir + "/out"), n)
        // Once the first is gone, the directory is free again.
        let again = try runProcess(Built.sluice, ["run", path], timeout: 60)
        XCTAssertEqual(again.status, 0, again.stderr)
    }

    /// A snapshot that fails declines its checkpoint: it aborts, the pipeline goes on, and a
    /// later checkpoint covers the rows. A plugin that can never snapshot fails after three.
    func testAFailedSnapshotDeclinesTheCheckpointAndTheNextOneCoversItsRows() throws {
        let n = 30_000
        let path = writePipeline(count: n, rate: 20_000, interval: "100ms", sourceExtra: ", decline_every: 3")
        let result = try runProcess(Built.sluice, ["run", path], timeout: 60)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("checkpoint 3 aborted: operator 'source' declined: operator 'source' (plugin sequence-source): declining checkpoint 3"), result.stderr)
        XCTAssertTrue(result.stderr.contains("checkpoint 4 complete"), result.stderr)
        assertExactlyOnce(try committedValues(in: dir + "/out"), n)

        setUp()
        let never = writePipeline(count: 0, rate: 20_000, interval: "100ms", sourceExtra: ", decline_every: 1")
        let failing = try runProcess(Built.sluice, ["worker", never], timeout: 60)
        XCTAssertEqual(failing.status, 1, failing.stderr)
        XCTAssertTrue(failing.stderr.contains("snapshot failed for 3 checkpoints in a row"), failing.stderr)
    }

    private func isAlive(_ pid: pid_t) -> Bool {
        guard let status = DurableFile.text("/proc/\(pid)/status") else { return false }
        return !status.contains("State:\tZ")
    }

    func testCorruptNewestCheckpointFallsBackToThePreviousOne() throws {
        for corruption in ["truncate", "flip"] {
            setUp()
            let path = writePipeline(count: 0, rate: 20_000, interval: "100ms")
            let first = try StartedProcess(Built.sluice, ["run", path])
            try first.waitForLog("checkpoint 4 complete")
            kill(first.pid, SIGTERM)
            XCTAssertEqual(try first.wait(timeout: 30).status, 0)

            let checkpoints = try FileManager.default.contentsOfDirectory(atPath: dir + "/checkpoints/checkpoints")
                .filter { $0.hasPrefix("chk-") }.sorted()
            XCTAssertEqual(checkpoints.count, 3, "retained: 3")
            let newest = dir + "/checkpoints/checkpoints/" + checkpoints.last!
            let previousID = Int(checkpoints[checkpoints.count - 2].dropFirst(4).prefix(20))!
            var bytes = try Data(contentsOf: URL(fileURLWithPath: newest))
            if corruption == "truncate" { bytes = bytes.prefix(bytes.count / 2) } else { bytes[bytes.count / 2] ^= 0x40 }
            try bytes.write(to: URL(fileURLWithPath: newest))

            let list = try runProcess(Built.sluice, ["checkpoints", "list", dir + "/checkpoints"])
            XCTAssertTrue(list.stdout.contains("INVALID"), list.stdout)

            let second = try StartedProcess(Built.sluice, ["run", path])
            try second.waitForLog("restoring checkpoint \(previousID) from")
            XCTAssertTrue(second.stderrText.contains("is unusable"), second.stderrText)
            kill(second.pid, SIGTERM)
            XCTAssertEqual(try second.wait(timeout: 30).status, 0)
            tearDown()
        }
    }
}
