import Foundation

/// Durations as pipeline files write them: "250ms", "5s", "2m", "1h", "1.5s", or a bare number
/// of seconds.
extension Duration {
    /// Nanoseconds per unit suffix; a missing suffix means seconds.
    private static let unitNanoseconds: [String: Decimal] = [
        "ms": 1_000_000, "s": 1_000_000_000, "": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000,
    ]

    /// Parses a non-negative duration such as "1.5s"; `nil` for anything else, including
    /// negative values and unknown units.
    init?(pipelineText text: String) {
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

    /// The duration a config value stands for: a non-negative number of seconds, or a string
    /// accepted by `init(pipelineText:)`.
    init?(configValue: ConfigValue) {
        switch configValue {
        case let .int(seconds, _) where seconds >= 0:
            self.init(nanoseconds: Decimal(seconds) * 1_000_000_000)
        case let .double(seconds, _) where seconds >= 0:
            self.init(nanoseconds: Decimal(seconds) * 1_000_000_000)
        case let .string(text, _):
            self.init(pipelineText: text)
        default:
            return nil
        }
    }

    /// A duration of `nanoseconds` rounded to whole nanoseconds; `nil` past Int64's range
    /// (about 292 years, far beyond any sensible setting).
    private init?(nanoseconds: Decimal) {
        var rounded = Decimal()
        var value = nanoseconds
        NSDecimalRound(&rounded, &value, 0, .plain)
        guard rounded <= Decimal(Int64.max) else { return nil }
        self = .nanoseconds(NSDecimalNumber(decimal: rounded).int64Value)
    }
}
