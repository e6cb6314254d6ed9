import Foundation
import Logging

/// The host's logging, through swift-log (the API the rest of the Swift server stack speaks):
/// `Log.info("...")` goes to a `Logger` labelled with the process's role (`supervisor[pid]`,
/// `worker[pid]`), and a plugin's `log` callback arrives with the operator's name as
/// `operator` metadata. The executable installs ``SluiceLogHandler`` (text lines, or JSON lines
/// with `SLUICE_LOG_FORMAT=json`); without it, swift-log's default handler applies.
enum Log {
    /// Set once at start-up, on the main thread, before any other thread exists; read-only
    /// afterwards, which is why unsynchronised access is safe.
    nonisolated(unsafe) private static var logger = Logger(label: "sluice")

    /// The process's role, the logger's label.
    static var component: String {
        get { logger.label }
        set { logger = Logger(label: newValue) }
    }

    static func debug(_ message: @autoclosure () -> String, operator name: String? = nil) { log(.debug, message(), operator: name) }
    static func info(_ message: @autoclosure () -> String, operator name: String? = nil) { log(.info, message(), operator: name) }
    static func warn(_ message: @autoclosure () -> String, operator name: String? = nil) { log(.warning, message(), operator: name) }
    static func error(_ message: @autoclosure () -> String, operator name: String? = nil) { log(.error, message(), operator: name) }

    static func log(_ level: Logger.Level, _ message: @autoclosure () -> String, operator name: String? = nil) {
        logger.log(level: level, "\(message())", metadata: name.map { ["operator": .string($0)] })
    }
}

/// A monotonic clock in nanoseconds.
@inline(__always)
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
}

/// Wall-clock milliseconds since the epoch, for manifests.
func wallClockMilliseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}
