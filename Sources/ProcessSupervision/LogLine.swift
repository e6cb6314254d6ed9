import Glibc

/// The log line format every sluice process writes, the supervisor's (which has no swift-log)
/// and the others' (through `SluiceLogHandler`) alike:
///
///     text (the default):  2026-11-26T09:13:14.123Z INFO  worker[42]: parse: 3 rows rejected
///     json:                {"ts":"2026-11-26T09:13:14.123Z","level":"info","logger":"worker[42]","message":"..."}
public enum LogLine {
    public enum Level: Int, Comparable, Sendable {
        case debug, info, warn, error

        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }

        /// `SLUICE_LOG_LEVEL`'s spellings.
        public init?(named name: String) {
            switch name.lowercased() {
            case "debug": self = .debug
            case "info": self = .info
            case "warn", "warning": self = .warn
            case "error": self = .error
            default: return nil
            }
        }

        /// Five wide, so that messages line up.
        public var textLabel: String {
            switch self {
            case .debug: return "DEBUG"
            case .info: return "INFO "
            case .warn: return "WARN "
            case .error: return "ERROR"
            }
        }

        public var jsonLabel: String {
            switch self {
            case .debug: return "debug"
            case .info: return "info"
            case .warn: return "warn"
            case .error: return "error"
            }
        }
    }

    public enum Format: String, Sendable { case text, json }

    /// One text line, newline included.
    public static func text(timestamp: String, level: Level, label: String, message: String) -> String {
        "\(timestamp) \(level.textLabel) \(label): \(message)\n"
    }

    /// One JSON object on a line, fields in the order given, newline included.
    public static func json(_ fields: [(String, String)]) -> String {
        "{" + fields.map { jsonString($0.0) + ":" + jsonString($0.1) }.joined(separator: ",") + "}\n"
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped.
    public static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// UTC, milliseconds: 2026-11-26T09:13:14.123Z.
    public static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var t = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &t)
        return "\(padded(Int(t.tm_year) + 1900, 4))-\(padded(Int(t.tm_mon) + 1, 2))-\(padded(Int(t.tm_mday), 2))T"
            + "\(padded(Int(t.tm_hour), 2)):\(padded(Int(t.tm_min), 2)):\(padded(Int(t.tm_sec), 2)).\(padded(now.tv_nsec / 1_000_000, 3))Z"
    }

    /// `value` in decimal, zero-padded to `width` digits.
    public static func padded(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// `value` rounded to `decimals` places, as `%.Nf` writes it (no exponent).
    public static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return String(value) }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e18 else { return String(value) }
        let units = Int(scaled)
        let whole = units / Int(scale), fraction = units % Int(scale)
        let sign = value < 0 && units != 0 ? "-" : ""
        return decimals == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(padded(fraction, decimals))"
    }
}
