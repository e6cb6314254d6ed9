import DurableFiles
import Foundation
import XCTest

/// Exactly-once into a real ClickHouse (Debian's 18.16: the query_id / system.query_log path)
/// through worker crashes and a ClickHouse outage, with the real `sluice` binary.
final class ClickHouseExactlyOnceTests: XCTestCase {
    nonisolated(unsafe) static var server: ClickHouseServer?
    var server: ClickHouseServer { Self.server! }
    private var dir = ""

    override class func tearDown() {
        server?.destroy()
        server = nil
        super.tearDown()
    }

    override func setUpWithError() throws {
        if Self.server == nil { Self.server = try ClickHouseServer() }
        dir = makeTemporaryDirectory("ch-eo")
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// count() = uniqExact() = n, and the values are exactly 1...n.
    func assertExactlyOnceInClickHouse(_ table: String, _ n: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let answer = try server.scalar("SELECT count(), uniqExact(value), min(value), max(value) FROM \(table)")
        XCTAssertEqual(answer, "\(n)\t\(n)\t1\t\(n)", "count, uniqExact, min, max", file: file, line: line)
    }

    /// On a newly started server system.query_log does not exist until the first flush that
    /// has something to write. The first worker must open all the same: no restart hides it.
    func testTheFirstWorkerOpensOnAFreshServer() throws {
        for attempt in 1...3 {
            let fresh = try ClickHouseServer()
            defer { fresh.destroy() }
            try fresh.query("CREATE TABLE fresh (value Int64) ENGINE = MergeTree ORDER BY value")
            let path = clickHousePipeline(directory: makeTemporaryDirectory("ch-fresh-\(attempt)"), url: fresh.url, table: "fresh", count: 2_000, rate: 0)
            let result = try runProcess(Built.sluice, ["run", path], timeout: 120)
            XCTAssertEqual(result.status, 0, String(result.stderr.suffix(4000)))
            XCTAssertEqual(try fresh.scalar("SELECT count(), uniqExact(value) FROM fresh"), "2000\t2000")
        }
    }

    func testSIGKILLAtTenRandomMomentsIncludingCommitsLandsEveryRowOnce() throws {
        try server.query("CREATE TABLE kills (value Int64) ENGINE = MergeTree ORDER BY value")
        let n = 300_000
        let path = clickHousePipeline(directory: dir, url: server.url, table: "kills", count: n, rate: 50_000, sinkExtra: ", max_block_rows: 2000")
        let supervisor = try StartedProcess(Built.sluice, ["run", path], expectingRestarts: true)
        var generator = SystemRandomNumberGenerator()
        var kills = 0, seenCompletions = 0
        while kills < 10 {
            if kills % 2 == 0 {
                usleep(UInt32.random(in: 150_000...600_000, using: &generator))
            } else {
                // Right after a checkpoint completes: the sink is inserting its sealed blocks now.
                let deadline = Date().addingTimeInterval(10)
                while Date() < deadline && supervisor.process.isRunning {
                    let completions = supervisor.stderrText.components(separatedBy: " complete in ").count - 1
                    if completions > seenCompletions { seenCompletions = completions; break }
                    usleep(2_000)
                }
                usleep(UInt32.random(in: 0...5_000, using: &generator))
            }
            guard supervisor.process.isRunning else { break }
            guard let worker = supervisor.children().first else { usleep(20_000); continue }
            kill(worker, SIGKILL)
            kills += 1
            seenCompletions = supervisor.stderrText.components(separatedBy: " complete in ").count - 1
        }
        let result = try supervisor.wait(timeout: 180)
        XCTAssertEqual(kills, 10, "the pipeline finished before 10 kills; raise count")
        XCTAssertEqual(result.status, 0, String(result.stderr.suffix(6000)))
        XCTAssertEqual(result.stderr.components(separatedBy: "signal 9 (SIGKILL)").count - 1, kills)
        XCTAssertTrue(result.stderr.contains("no insert_deduplication_token (added in 22.2)"), String(result.stderr.prefix(3000)))
        try assertExactlyOnceInClickHouse("kills", n)
    }

    func testClickHouseStoppedForTenSecondsMidStreamLosesAndDoublesNothing() throws {
        try server.query("CREATE TABLE outage (value Int64) ENGINE = MergeTree ORDER BY value")
        let n = 200_000
        let path = clickHousePipeline(directory: dir, url: server.url, table: "outage", count: n, rate: 10_000,
                                      sinkExtra: ", retry: { initial_delay: 100ms, max_delay: 2s }")
        let supervisor = try StartedProcess(Built.sluice, ["run", path])
        try supervisor.waitForLog("checkpoint 5 complete", timeout: 60)
        let before = Int(try server.scalar("SELECT count() FROM outage")) ?? 0
        XCTAssertGreaterThan(before, 0)
        server.stop()
        let stoppedAt = Date()
        try supervisor.waitForLog("unreachable (connection refused); retrying commit of epoch", timeout: 30)
        Thread.sleep(forTimeInterval: max(0, 10 - Date().timeIntervalSince(stoppedAt)))
        // Backpressure: the source is held back while the sink waits (bounded queues).
        let workerRSS = supervisor.children().first.map(residentKilobytes) ?? 0
        try server.start()
        let result = try supervisor.wait(timeout: 180)
        XCTAssertEqual(result.status, 0, String(result.stderr.suffix(6000)))
        XCTAssertTrue(result.stderr.contains("retrying commit of epoch"), String(result.stderr.suffix(4000)))
        XCTAssertLessThan(workerRSS, 300_000, "worker memory stays bounded while ClickHouse is down")
        try assertExactlyOnceInClickHouse("outage", n)
    }
}

/// VmRSS of a process in kilobytes (0 when it is gone).
func residentKilobytes(_ pid: Int32) -> Int { procStatusKilobytes(pid, "VmRSS:") }

/// VmHWM (peak resident memory) of a process in kilobytes, 0 when it is gone.
func peakKilobytes(_ pid: Int32) -> Int { procStatusKilobytes(pid, "VmHWM:") }

/// A kilobyte field of /proc/PID/status (0 when the process is gone).
private func procStatusKilobytes(_ pid: Int32, _ field: String) -> Int {
    let text = DurableFile.text("/proc/\(pid)/status") ?? ""
    guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field) }) else { return 0 }
    return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
}
