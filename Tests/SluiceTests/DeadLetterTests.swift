import Foundation
import XCTest

/// Rows a transform rejects reach the dead-letter sink with their reason, exactly once, and
/// are never dropped silently.
final class DeadLetterTests: XCTestCase {
    private var dir = ""

    override func setUp() { dir = makeTemporaryDirectory("deadletters") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    private func pipeline(count: Int, rate: Int, deadLetter: Bool, chained: Bool = false) throws -> String {
        let transform = try Built.cPlugin(source: Built.packageRoot + "/Tests/Fixtures/reject_transform.c", output: dir + "/libreject.so")
        let path = dir + "/pipeline.yaml"
        try """
        name: deadletters
        chain_transforms: \(chained)
        source: { plugin: \(Built.sequenceSource), config: { count: \(count), batch_size: 100, rate: \(rate) } }
        transforms:
          - plugin: \(transform)
            name: reject-tens
            config: { modulus: 10 }
        sink: { plugin: file-sink, config: { directory: \(dir)/out } }
        \(deadLetter ? "dead_letter: { plugin: file-sink, config: { directory: \(dir)/rejected } }" : "")
        checkpointing: { interval: 100ms, directory: \(dir)/checkpoints }
        restart: { initial_delay: 50ms, max_delay: 100ms, max_restarts: \(deadLetter ? 20 : 0) }
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testRejectedRowsReachTheDeadLetterSinkExactlyOnceThroughCrashes() throws {
        let n = 100_000
        let supervisor = try StartedProcess(Built.sluice, ["run", try pipeline(count: n, rate: 50_000, deadLetter: true)], expectingRestarts: true)
        for _ in 0..<3 {
            usleep(500_000)
            if let worker = supervisor.children().first { kill(worker, SIGKILL) }
        }
        let result = try supervisor.wait(timeout: 60)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertTrue(result.stderr.contains("dead letters"), result.stderr)

        let kept = try committedValues(in: dir + "/out")
        XCTAssertEqual(kept.count, n - n / 10)
        XCTAssertEqual(Set(kept).count, kept.count, "duplicates in the main output")
        XCTAssertTrue(kept.allSatisfy { $0 % 10 != 0 })

        var rejected: [Int64] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: dir + "/rejected") where file.hasPrefix("part-") {
            for line in try String(contentsOfFile: dir + "/rejected/" + file, encoding: .utf8).split(separator: "\n") {
                XCTAssertTrue(line.contains(#""error_reason":"divisible by 10","error_operator":"reject-tens""#), String(line))
                let digits = line.dropFirst(#"{"value":"#.count).prefix { $0.isNumber }
                rejected.append(Int64(digits)!)
            }
        }
        XCTAssertEqual(rejected.count, n / 10, "one dead letter per multiple of ten")
        XCTAssertTrue(rejected.sorted() == (1...n / 10).map { Int64($0 * 10) }, "every multiple of ten, once")
    }

    func testWithoutDeadLetterSinkARejectFailsThePipeline() throws {
        let result = try runProcess(Built.sluice, ["run", try pipeline(count: 100, rate: 0, deadLetter: false, chained: true)], timeout: 30)
        XCTAssertEqual(result.status, 78, "the same record would fail again after a restart: none is tried")
        XCTAssertTrue(result.stderr.contains("rejected a record (divisible by 10) and the pipeline has no dead_letter sink"), result.stderr)
        // The transform runs on the source's thread; the failure still names the transform.
        XCTAssertTrue(result.stderr.contains("operator 'reject-tens' failed"), result.stderr)
    }
}
