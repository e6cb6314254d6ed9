import Foundation

/// Line-oriented logging to standard error: `2026-11-26T09:13:14.123Z INFO  worker: message`.
/// One `write` per line so lines from several threads never interleave. Any thread.
enum Log {
    enum Level: Int, Comparable {
        case debug = 0, info, warn, error
        static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        var label: String { ["DEBUG", "INFO ", "WARN ", "ERROR"][rawValue] }
    }

    nonisolated(unsafe) static var threshold: Level = ProcessInfo.processInfo.environment["SLUICE_LOG_LEVEL"].flatMap {
        ["debug": Level.debug, "info": .info, "warn": .warn, "error": .error][$0.lowercased()]
    } ?? .info
    nonisolated(unsafe) static var component = "sluice"

    static func debug(_ message: @autoclosure () -> String) { write(.debug, message()) }
    static func info(_ message: @autoclosure () -> String) { write(.info, message()) }
    static func warn(_ message: @autoclosure () -> String) { write(.warn, message()) }
    static func error(_ message: @autoclosure () -> String) { write(.error, message()) }

    static func write(_ level: Level, _ message: String) {
        guard level >= threshold else { return }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var t = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &t)
        let stamp = String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                           t.tm_hour, t.tm_min, t.tm_sec, now.tv_nsec / 1_000_000)
        let line = "\(stamp) \(level.label) \(component): \(message)\n"
        line.withCString { _ = fputs($0, stderr) }
        fflush(stderr)
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
