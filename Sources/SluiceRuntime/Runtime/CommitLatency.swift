import Foundation
import SluiceArrow

/// How long rows take from their publish time (or event time) to their commit: the freshness
/// users feel, since rows become visible in an exactly-once sink only when their checkpoint
/// completes. Exported as the histogram `sluice_commit_latency_seconds`.
///
/// The source thread hands over each batch it emits, with the last checkpoint barrier it
/// injected; the rows count as committed when a later checkpoint completes. Per batch only the
/// row count and the mean time are kept (one pass over the column), so a row's latency is its
/// batch's mean latency: exact to within the time a batch spans.
///
/// Thread-safe (sources record, the coordinator commits, a scrape renders).
final class CommitLatency {
    /// Upper bounds of the histogram's buckets, in seconds (and +Inf).
    static let bounds: [Double] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]
    /// Batches waiting for their checkpoint at most; older ones are forgotten (their rows not
    /// observed) when checkpoints keep failing.
    static let maximumPending = 20_000

    /// The timestamp column read: the first of these that a source's batch has.
    static let timeColumns = ["publish_time", "event_time"]

    private struct Pending {
        var afterBarrier: UInt64
        var rows: Int
        var meanMilliseconds: Double
    }

    private let lock = NSLock()
    private var pending: [Pending] = []
    private var buckets = [UInt64](repeating: 0, count: CommitLatency.bounds.count + 1)
    private var sum = 0.0
    private var count: UInt64 = 0

    /// Source thread: `batch` was emitted after checkpoint barrier `afterBarrier` (0 before the
    /// first).
    func record(_ batch: ArrowBatchView, afterBarrier: UInt64) {
        guard let (rows, mean) = Self.meanTime(batch) else { return }
        lock.withLock {
            if pending.count >= Self.maximumPending { pending.removeFirst() }
            pending.append(Pending(afterBarrier: afterBarrier, rows: rows, meanMilliseconds: mean))
        }
    }

    /// Coordinator: checkpoint `id` completed at `nowMilliseconds` (wall clock): every batch
    /// emitted before its barrier is committed. Batches of several source lanes interleave (a
    /// lane may pass a barrier before another), so every waiting batch is looked at: a few
    /// hundred per checkpoint.
    func committed(checkpoint id: UInt64, nowMilliseconds: Int64) {
        lock.withLock {
            var waiting: [Pending] = []
            for p in pending {
                guard p.afterBarrier < id else { waiting.append(p); continue }
                let seconds = max(0, (Double(nowMilliseconds) - p.meanMilliseconds) / 1000)
                let bucket = Self.bounds.firstIndex { seconds <= $0 } ?? Self.bounds.count
                buckets[bucket] += UInt64(p.rows)
                sum += seconds * Double(p.rows)
                count += UInt64(p.rows)
            }
            pending = waiting
        }
    }

    /// The histogram in the Prometheus text format.
    func prometheusText(pipeline: String) -> String {
        let (buckets, sum, count) = lock.withLock { (self.buckets, self.sum, self.count) }
        let label = "pipeline=\"\(pipeline.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\""))\""
        var lines = ["# HELP sluice_commit_latency_seconds Time from a row's publish (or event) time to the commit of its checkpoint.",
                     "# TYPE sluice_commit_latency_seconds histogram"]
        var cumulative: UInt64 = 0
        for (i, bound) in Self.bounds.enumerated() {
            cumulative += buckets[i]
            lines.append("sluice_commit_latency_seconds_bucket{\(label),le=\"\(bound)\"} \(cumulative)")
        }
        lines.append("sluice_commit_latency_seconds_bucket{\(label),le=\"+Inf\"} \(cumulative + buckets[Self.bounds.count])")
        lines.append("sluice_commit_latency_seconds_sum{\(label)} \(sum)")
        lines.append("sluice_commit_latency_seconds_count{\(label)} \(count)")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Rows with a time, and their mean time in milliseconds since the epoch; nil when the
    /// batch has no timestamp column of `timeColumns` or no row with a time.
    static func meanTime(_ batch: ArrowBatchView) -> (Int, Double)? {
        guard let column = timeColumns.lazy.compactMap({ batch.column(named: $0) }).first,
              case .timestamp(let unit, _) = column.format else { return nil }
        // Summed as offsets from the first time, so that no precision is lost.
        var first: Int64?, total = 0.0, rows = 0
        for row in 0..<column.length where !column.isNull(row) {
            let time = column.fixed(row, as: Int64.self)
            if first == nil { first = time }
            total += Double(time &- first!)
            rows += 1
        }
        guard let first, rows > 0 else { return nil }
        let perMillisecond: Double
        switch unit {
        case .seconds: perMillisecond = 0.001
        case .milliseconds: perMillisecond = 1
        case .microseconds: perMillisecond = 1000
        case .nanoseconds: perMillisecond = 1_000_000
        }
        return (rows, (Double(first) + total / Double(rows)) / perMillisecond)
    }
}
