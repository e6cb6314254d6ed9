import Foundation
import Logging
import ProcessSupervision

/// Writes log lines to standard error, one `write` per line so lines from several threads never
/// interleave. Two formats:
///
///     text (the default):  2026-11-26T09:13:14.123Z INFO  worker[42]: parse: 3 rows rejected
///     json:                {"ts":"2026-11-26T09:13:14.123Z","level":"info","logger":"worker[42]","operator":"parse","message":"3 rows rejected"}
///
/// JSON lines are for log collectors (Kubernetes, Loki, Elasticsearch): every metadata value
/// becomes a field. `SLUICE_LOG_FORMAT` (`text` or `json`) and `SLUICE_LOG_LEVEL` (`debug`,
/// `info`, `warn`, `error`) choose, see ``bootstrap(environment:)``.
public struct SluiceLogHandler: LogHandler {
    public typealias Format = LogLine.Format

    public let label: String
    public let format: Format
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let write: @Sendable (String) -> Void

    public init(label: String, format: Format, level: Logger.Level, write: @escaping @Sendable (String) -> Void = SluiceLogHandler.standardError) {
        self.label = label
        self.format = format
        logLevel = level
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Installs this handler for the process, with the format and level the environment asks
    /// for. Call once, first thing in `main`.
    public static func bootstrap(environment: [String: String] = ProcessInfo.processInfo.environment) {
        let format = environment["SLUICE_LOG_FORMAT"].flatMap { Format(rawValue: $0.lowercased()) } ?? .text
        let level = environment["SLUICE_LOG_LEVEL"].flatMap { SluiceLogHandler.level(named: $0) } ?? Logger.Level.info
        LoggingSystem.bootstrap { label in SluiceLogHandler(label: label, format: format, level: level) }
    }

    static func level(named name: String) -> Logger.Level? {
        switch LogLine.Level(named: name) {
        case .debug: return .debug
        case .info: return .info
        case .warn: return .warning
        case .error: return .error
        case nil: return nil
        }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let explicit = event.metadata { all.merge(explicit) { $1 } }
        if let error = event.error { all["error"] = "\(error)" }
        write(render(level: event.level, message: "\(event.message)", metadata: all, timestamp: SluiceLogHandler.timestamp()))
    }

    /// One line, newline included, in the format every sluice process writes (`LogLine`).
    func render(level: Logger.Level, message: String, metadata: Logger.Metadata, timestamp: String) -> String {
        let level = SluiceLogHandler.lineLevel(level)
        switch format {
        case .text:
            // The operator leads the message, as it always has; other metadata follows it.
            var text = metadata["operator"].map { "\($0): " } ?? ""
            text += message
            for (key, value) in metadata.sorted(by: { $0.key < $1.key }) where key != "operator" { text += " \(key)=\(value)" }
            return LogLine.text(timestamp: timestamp, level: level, label: label, message: text)
        case .json:
            var fields = [("ts", timestamp), ("level", level.jsonLabel), ("logger", label)]
            fields += metadata.sorted { $0.key < $1.key }.map { ($0.key, "\($0.value)") }
            fields.append(("message", message))
            return LogLine.json(fields)
        }
    }

    static func lineLevel(_ level: Logger.Level) -> LogLine.Level {
        switch level {
        case .trace, .debug: return .debug
        case .info, .notice: return .info
        case .warning: return .warn
        case .error, .critical: return .error
        }
    }

    static func timestamp() -> String { LogLine.timestamp() }

    /// One `fputs` and a flush per line.
    public static let standardError: @Sendable (String) -> Void = { line in
        line.withCString { _ = fputs($0, stderr) }
        fflush(stderr)
    }
}
