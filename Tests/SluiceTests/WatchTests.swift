import Foundation
import XCTest

/// `sluice run --watch`: a sink-only edit swaps without a restart, another edit restarts the
/// worker from a savepoint with nothing lost, a broken edit is rejected.
final class WatchTests: XCTestCase {
    private var dir = ""

    override func setUp() { dir = makeTemporaryDirectory("watch") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    private func yaml(sinkFolder: String, batchSize: Int, count: Int, checkpoints: String = "checkpoints", initialDelay: String = "1s") -> String {
        """
        name: watched
        source: { plugin: \(Built.sequenceSource), config: { count: \(count), batch_size: \(batchSize), rate: 15000 } }
        sink: { plugin: file-sink, config: { directory: \(dir)/\(sinkFolder) } }
        checkpointing: { interval: 300ms, directory: \(dir)/\(checkpoints) }
        restart: { initial_delay: \(initialDelay) }
        """
    }

    /// The supervisor's command line (`sluice-supervisor`, which `sluice run` became).
    private func commandLine(_ pid: pid_t) throws -> [String] {
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"))
        return bytes.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    func testSinkEditSwapsSourceEditRestartsBrokenEditIsRejected() throws {
        let n = 90_000
        let path = dir + "/pipeline.yaml"
        try yaml(sinkFolder: "a", batchSize: 100, count: n).write(toFile: path, atomically: true, encoding: .utf8)
        let supervisor = try StartedProcess(Built.sluice, ["run", "--watch", path])
        try supervisor.waitForLog("checkpoint 2 complete")
        let firstWorker = try XCTUnwrap(supervisor.children().first)

        // 1. Sink only: swapped in place, same worker process.
        try yaml(sinkFolder: "b", batchSize: 100, count: n).write(toFile: path, atomically: true, encoding: .utf8)
        try supervisor.waitForLog("sink swapped to file-sink")
        XCTAssertEqual(supervisor.children().first, firstWorker, "a sink-only edit must not restart the worker")

        // 2. Broken: rejected, the pipeline goes on.
        try "name: watched\nsource: [\n".write(toFile: path, atomically: true, encoding: .utf8)
        try supervisor.waitForLog("the changed pipeline file is rejected")
        XCTAssertEqual(supervisor.children().first, firstWorker)

        // 3. The checkpoint directory moves: refused (the supervisor holds the old one's
        // lock), the pipeline goes on.
        try yaml(sinkFolder: "b", batchSize: 250, count: n, checkpoints: "elsewhere").write(toFile: path, atomically: true, encoding: .utf8)
        try supervisor.waitForLog("moves the pipeline's local checkpoint directory")
        XCTAssertEqual(supervisor.children().first, firstWorker)
        XCTAssertTrue(try commandLine(supervisor.pid).contains("1000000000"), "restart.initial_delay of 1 s before the reload")

        // 4. The source and the restart policy change: savepoint, `sluice run` again from it,
        // which hands the supervisor the new policy.
        try yaml(sinkFolder: "b", batchSize: 250, count: n, initialDelay: "250ms").write(toFile: path, atomically: true, encoding: .utf8)
        try supervisor.waitForLog("restarting the worker with the changed pipeline from savepoint 'reload-")
        try supervisor.waitForLog("(savepoint)")
        let reloaded = try commandLine(supervisor.pid)
        XCTAssertEqual(reloaded.firstIndex(of: "--initial-delay-ns").map { reloaded[$0 + 1] }, "250000000", reloaded.joined(separator: " "))

        let result = try supervisor.wait(timeout: 90)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr.components(separatedBy: "worker started (pid").count - 1, 2, "one restart, for the source edit")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/elsewhere"), "the refused edit created a checkpoint directory")
        assertExactlyOnce(try committedValues(in: [dir + "/a", dir + "/b"]), n)
    }
}
