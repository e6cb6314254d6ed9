import Foundation
import ServiceTestSupport
import XCTest

/// Memory under pressure: 1 MB messages, a 200 MB backlog and a 30 s ClickHouse outage. The
/// worker's peak resident memory stays within the bound its settings give
/// (docs/operations.md, "Memory"), and every reading lands exactly once.
final class MemoryBoundTests: XCTestCase {
    private var dir = ""

    override func setUp() { dir = makeTemporaryDirectory("memory") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// The documented bound, in MB: the worker at rest, plus per partition the receiver queue's
    /// bytes and two messages, plus every queue's batches of at most `max_batch_bytes` and one
    /// message (twice: a builder's capacity doubles), plus two sink blocks.
    static func boundMB(restMB: Double, receiverQueueBytes: Int, largestMessage: Int, queueCapacity: Int,
                        maxBatchBytes: Int, maxBlockBytes: Int) -> Double {
        let mb = Double(1 << 20)
        return restMB
            + Double(receiverQueueBytes + 2 * largestMessage) / mb
            + Double((queueCapacity + 2) * 2 * (maxBatchBytes + largestMessage)) / mb
            + Double(2 * maxBlockBytes) / mb
    }

    func testOneMegabyteMessagesAndAClickHouseOutageStayWithinTheMemoryBound() throws {
        let clickhouse = try ClickHouseServer()
        defer { clickhouse.destroy() }
        let broker = try PulsarBroker()
        try clickhouse.query("CREATE TABLE big (seq UInt64, ts DateTime) ENGINE = MergeTree ORDER BY seq")

        // 200 readings of 1 MB each (a 1,000,000-byte pad the parser skips): 200 MB.
        let message = 1_000_000
        let n = 200, first = 20
        func writeReadings(_ range: ClosedRange<Int>, to path: String) throws {
            let pad = String(repeating: "x", count: message - 60)
            let lines = range.map { #"{"seq":\#($0),"ts":1764100000000,"pad":"\#(pad)"}"# }
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
        }
        func produce(_ range: ClosedRange<Int>) throws {
            let file = dir + "/readings-\(range.lowerBound).jsonl"
            try writeReadings(range, to: file)
            let result = try runProcess(Built.sluice, ["produce", "--url", broker.url, "--topic", "big", "--file", file], timeout: 120)
            XCTAssertEqual(result.status, 0, result.output)
            try FileManager.default.removeItem(atPath: file)
        }

        let receiverQueueBytes = 8 << 20, maxBatchBytes = 2 << 20, queueCapacity = 4, maxBlockBytes = 8 << 20
        let path = dir + "/pipeline.yaml"
        try """
        name: memory
        queue_capacity: \(queueCapacity)
        source:
          plugin: pulsar-source
          config:
            service_url: \(broker.url)
            topic: big
            subscription: memory
            receiver_queue_size: 2000
            receiver_queue_bytes: \(receiverQueueBytes)
            max_batch_bytes: \(maxBatchBytes)
            stop_after_messages: \(n)
        transforms:
          - plugin: sensor-parser
            config: { payload_column: payload, columns: [ { name: seq, type: uint64 }, { name: ts, type: timestamp, unit: ms } ] }
        sink:
          plugin: clickhouse-sink
          config: { url: "\(clickhouse.url)", table: big, max_block_bytes: \(maxBlockBytes), retry: { initial_delay: 100ms, max_delay: 1s } }
        checkpointing: { interval: 500ms, directory: \(dir)/checkpoints, mode: exactly-once }
        """.write(toFile: path, atomically: true, encoding: .utf8)

        try produce(1...first)
        let supervisor = try StartedProcess(Built.sluice, ["run", path])
        try waitUntil(timeout: 60, "the first \(first) readings are committed") {
            Int((try? clickhouse.scalar("SELECT count() FROM big")) ?? "") == first
        }
        let worker = try XCTUnwrap(supervisor.children().first)
        // At rest: what it holds once those are committed (large buffers are unmapped when freed).
        let restMB = Double(residentKilobytes(worker)) / 1024
        // The peak is sampled all along (VmHWM only grows; the last sample before the worker
        // exits is its lifetime peak).
        let sampler = PeakSampler(pid: worker)

        // ClickHouse goes away for 30 s while the other 180 MB arrive.
        clickhouse.stop()
        let stoppedAt = Date()
        try produce((first + 1)...n)
        try supervisor.waitForLog("retrying commit of epoch", timeout: 30)
        Thread.sleep(forTimeInterval: max(0, 30 - Date().timeIntervalSince(stoppedAt)))
        let duringOutageMB = Double(sampler.peak) / 1024
        try clickhouse.start()

        let result = try supervisor.wait(timeout: 180)
        sampler.stop()
        XCTAssertEqual(result.status, 0, String(result.stderr.suffix(5000)))
        XCTAssertEqual(try clickhouse.scalar("SELECT count(), uniqExact(seq), min(seq), max(seq) FROM big"), "\(n)\t\(n)\t1\t\(n)")

        let bound = Self.boundMB(restMB: restMB, receiverQueueBytes: receiverQueueBytes, largestMessage: message,
                                 queueCapacity: queueCapacity, maxBatchBytes: maxBatchBytes, maxBlockBytes: maxBlockBytes)
        let peakMB = Double(sampler.peak) / 1024
        print(String(format: "memory: at rest %.1f MB, peak during the outage %.1f MB, peak %.1f MB, bound %.1f MB", restMB, duringOutageMB, peakMB, bound))
        XCTAssertLessThanOrEqual(peakMB, bound, "peak RSS \(peakMB) MB (at rest \(restMB) MB, during the outage \(duringOutageMB) MB) exceeds the bound \(bound) MB")
        XCTAssertLessThan(bound, restMB + 200, "the bound is well below the backlog")
    }
}

/// Reads a process's VmHWM every 50 ms on a thread of its own, keeping the largest value.
final class PeakSampler: @unchecked Sendable {
    // @unchecked Sendable: `value` and `running` are only touched under `lock`.
    private let lock = NSLock()
    private var value = 0
    private var running = true

    init(pid: Int32) {
        let thread = Thread { [self] in
            while lock.withLock({ running }) {
                let kb = peakKilobytes(pid)
                lock.withLock { value = max(value, kb) }
                usleep(50_000)
            }
        }
        thread.start()
    }

    var peak: Int { lock.withLock { value } }
    func stop() { lock.withLock { running = false } }
}
