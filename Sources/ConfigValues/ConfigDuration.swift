import Foundation

/// A duration in any configuration, the pipeline file's or a plugin's: a non-negative number of
/// seconds, or text such as "250ms", "5s", "2m", "1h", "1.5s" (digits, optionally a fraction,
/// then `ms`, `s`, `m`, `h` or nothing for seconds). One grammar and one message everywhere.
public struct ConfigDuration: Decodable, Hashable, Sendable, CustomStringConvertible {
    public let duration: Duration

    public init(_ duration: Duration) { self.duration = duration }

    /// Nanoseconds per unit suffix; a missing suffix means seconds.
    private static let unitNanoseconds: [String: Decimal] = [
        "ms": 1_000_000, "s": 1_000_000_000, "": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000,
    ]

    /// Parses a duration such as "1.5s"; nil for anything else, including negative values,
    /// unknown units and ".5s" or "1.s".
    public init?(text: String) {
        let number = text.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let unit = String(text[number.endIndex...])
        // Digits, optionally followed by "." and more digits: rejects "", ".5", "1." and "1.2.3".
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard let scale = Self.unitNanoseconds[unit], (1...2).contains(parts.count),
              parts.allSatisfy({ !$0.isEmpty }), let value = Decimal(string: String(number))
        else { return nil }
        // Decimal keeps "1.1s" exact, where Double would be off by a few attoseconds.
        self.init(nanoseconds: value * scale)
    }

    /// A non-negative number of seconds; nil for a negative one.
    public init?(seconds: Double) {
        guard seconds >= 0, seconds.isFinite else { return nil }
        self.init(nanoseconds: Decimal(seconds) * 1_000_000_000)
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let seconds = try? container.decode(Double.self) {
            guard let parsed = ConfigDuration(seconds: seconds) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: ConfigDuration.problem(String(seconds)))
            }
            self = parsed
            return
        }
        let text = try container.decode(String.self)
        guard let parsed = ConfigDuration(text: text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: ConfigDuration.problem(text))
        }
        self = parsed
    }

    /// The message for a value that is not a duration.
    public static func problem(_ text: String) -> String {
        "'\(text)' is not a duration (a number of seconds, or for example 250ms, 5s, 2m, 1h)"
    }

    public var seconds: Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    public var description: String { duration.description }

    /// A duration of `nanoseconds` rounded to whole nanoseconds; nil past Int64's range
    /// (about 292 years, far beyond any sensible setting).
    private init?(nanoseconds: Decimal) {
        var rounded = Decimal()
        var value = nanoseconds
        NSDecimalRound(&rounded, &value, 0, .plain)
        guard rounded <= Decimal(Int64.max) else { return nil }
        duration = .nanoseconds(NSDecimalNumber(decimal: rounded).int64Value)
    }
}
