import Glibc

/// The supervisor's log: lines on standard error in the format and above the level the
/// environment asks for (`SLUICE_LOG_FORMAT`, `SLUICE_LOG_LEVEL`), labelled `supervisor[pid]`.
/// One `write` per line, so the worker's lines (on the same standard error) never cut into one.
public struct SupervisorLog: Sendable {
    public let label: String
    public let format: LogLine.Format
    public let level: LogLine.Level

    public init(label: String = "supervisor[\(getpid())]") {
        self.label = label
        format = Self.environment("SLUICE_LOG_FORMAT").flatMap { LogLine.Format(rawValue: $0.lowercased()) } ?? .text
        level = Self.environment("SLUICE_LOG_LEVEL").flatMap(LogLine.Level.init(named:)) ?? .info
    }

    public func info(_ message: String) { log(.info, message) }
    public func warn(_ message: String) { log(.warn, message) }
    public func error(_ message: String) { log(.error, message) }

    public func log(_ messageLevel: LogLine.Level, _ message: String) {
        guard messageLevel >= level else { return }
        let timestamp = LogLine.timestamp()
        let line = format == .json
            ? LogLine.json([("ts", timestamp), ("level", messageLevel.jsonLabel), ("logger", label), ("message", message)])
            : LogLine.text(timestamp: timestamp, level: messageLevel, label: label, message: message)
        var bytes = Array(line.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            offset += written
        }
    }

    private static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
