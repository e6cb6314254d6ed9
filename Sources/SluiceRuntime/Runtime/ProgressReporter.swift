import Foundation

/// Keeps the operator informed: on a terminal, one live status line rewritten every second;
/// otherwise a log line every `status_interval`.
///
/// Coordinator thread only.
final class ProgressReporter {
    private let isTerminal = isatty(STDOUT_FILENO) != 0
    private let interval: UInt64
    private var lastReport: UInt64 = monotonicNanoseconds()
    private var lastRows = 0

    init(interval: Duration) {
        self.interval = isatty(STDOUT_FILENO) != 0 ? 1_000_000_000 : nanoseconds(interval)
    }

    func report(_ worker: Worker) {
        let now = monotonicNanoseconds()
        guard now - lastReport >= interval else { return }
        let rows = worker.topology.sources.reduce(0) { $0 + worker.operators[$1].counters.rowsOut }
        let rate = Double(rows - lastRows) / (Double(now - lastReport) / 1e9)
        lastReport = now
        lastRows = rows
        let line = ProgressReporter.line(worker.statusDocument(), rate: rate)
        if isTerminal {
            FileHandle.standardOutput.write(Data(("\r\u{1B}[2K" + line).utf8))
        } else {
            Log.info("status: " + line)
        }
    }

    static func line(_ status: [String: Any], rate: Double) -> String {
        let ops = status["operators"] as? [[String: Any]] ?? []
        let read = ops.first?["records_out"] as? Int ?? 0
        var parts = ["\(status["pipeline"] ?? "")", "read \(read) rows (\(Int(rate))/s)",
                     "committed \(status["rows_committed"] as? Int ?? 0)", "dead letters \(status["dead_letters_committed"] as? Int ?? 0)"]
        if let last = status["last_checkpoint"] as? [String: Any], let id = last["id"] {
            let ageMs = wallClockMilliseconds() - (last["completed_at_ms"] as? Int64 ?? 0)
            parts.append("checkpoint \(id) \(String(format: "%.1f", Double(ageMs) / 1000)) s ago")
        } else {
            parts.append("no checkpoint yet")
        }
        if let lag = status["lag"] as? Int { parts.append("lag \(lag)") }
        return parts.joined(separator: " | ")
    }
}
