import SluiceArrow
import XCTest
@testable import SluiceRuntime

/// `sluice_commit_latency_seconds`: rows count once their checkpoint completes, with the time
/// from their batch's mean publish time.
final class CommitLatencyTests: XCTestCase {
    fileprivate func batch(publishTimes: [Int64?], column: String = "publish_time", unit: ArrowFormat.TimeUnit = .milliseconds) -> ArrowBatch {
        let times = ArrowColumnBuilder(name: column, format: .timestamp(unit, timeZone: "UTC"))
        for t in publishTimes { if let t { times.append(t) } else { times.appendNull() } }
        return ArrowBatchBuilder(columns: [times]).finish()
    }

    private func value(_ name: String, _ text: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(name) }.flatMap { Double($0.split(separator: " ").last!) }
    }

    func testRowsCountWhenTheirCheckpointCompletes() throws {
        let latency = CommitLatency()
        let first = batch(publishTimes: [1_000_000, 1_000_200])  // mean 1,000,100
        let second = batch(publishTimes: [1_002_000, nil])  // nulls are left out
        latency.record(try first.view(), afterBarrier: 0)
        latency.record(try second.view(), afterBarrier: 1)
        // Checkpoint 1 covers what came before its barrier: the first batch only.
        latency.committed(checkpoint: 1, nowMilliseconds: 1_000_400)
        var text = latency.prometheusText(pipeline: "p")
        XCTAssertEqual(value(#"sluice_commit_latency_seconds_count{pipeline="p"}"#, text), 2)
        XCTAssertEqual(value(#"sluice_commit_latency_seconds_sum{pipeline="p"}"#, text)!, 0.6, accuracy: 1e-9)
        XCTAssertEqual(value(#"sluice_commit_latency_seconds_bucket{pipeline="p",le="0.25"}"#, text), 0)
        XCTAssertEqual(value(#"sluice_commit_latency_seconds_bucket{pipeline="p",le="0.5"}"#, text), 2)
        // An aborted checkpoint 2 commits nothing; 3 commits the rest, 2.6 s after publishing.
        latency.committed(checkpoint: 3, nowMilliseconds: 1_004_600)
        text = latency.prometheusText(pipeline: "p")
        XCTAssertEqual(value(#"sluice_commit_latency_seconds_count{pipeline="p"}"#, text), 3)
        XCTAssertEqual(value(#"sluice_commit_latency_seconds_bucket{pipeline="p",le="2.5"}"#, text), 2)
        XCTAssertEqual(value(#"sluice_commit_latency_seconds_bucket{pipeline="p",le="5.0"}"#, text), 3)
        XCTAssertEqual(value(#"sluice_commit_latency_seconds_bucket{pipeline="p",le="+Inf"}"#, text), 3)
        XCTAssertTrue(text.contains("# TYPE sluice_commit_latency_seconds histogram"))
    }

    func testEventTimeAndOtherUnitsAndBatchesWithoutATime() throws {
        // A view borrows its batch: each batch is kept alive while it is read.
        let noTimeColumn = batch(publishTimes: [5], column: "ts"), allNull = batch(publishTimes: [nil, nil])
        XCTAssertNil(CommitLatency.meanTime(try noTimeColumn.view()))
        XCTAssertNil(CommitLatency.meanTime(try allNull.view()))
        let micros = batch(publishTimes: [1_764_100_000_000_000, 1_764_100_000_002_000], column: "event_time", unit: .microseconds)
        let (rows, mean) = try XCTUnwrap(CommitLatency.meanTime(try micros.view()))
        XCTAssertEqual(rows, 2)
        XCTAssertEqual(mean, 1_764_100_000_001, accuracy: 1e-3)
    }
}

extension CommitLatencyTests {
    /// Two source lanes: one passes barrier 2 before the other has emitted its last batch before
    /// it; checkpoint 2 still commits that batch.
    func testBatchesOfLanesThatInterleaveAcrossABarrier() throws {
        let latency = CommitLatency()
        let a = batch(publishTimes: [1_000]), b = batch(publishTimes: [1_000])
        latency.record(try a.view(), afterBarrier: 2)  // lane 0, already past barrier 2
        latency.record(try b.view(), afterBarrier: 1)  // lane 1, not yet
        latency.committed(checkpoint: 2, nowMilliseconds: 1_100)
        XCTAssertTrue(latency.prometheusText(pipeline: "p").contains(#"sluice_commit_latency_seconds_count{pipeline="p"} 1"#))
        latency.committed(checkpoint: 3, nowMilliseconds: 1_200)
        XCTAssertTrue(latency.prometheusText(pipeline: "p").contains(#"sluice_commit_latency_seconds_count{pipeline="p"} 2"#))
    }
}
