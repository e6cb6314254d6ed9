/// Builds a `PipelineSpec` from the `ConfigValue` tree of a pipeline file, checking every key and
/// value and collecting all problems instead of stopping at the first.
///
/// Readers never fail: on a bad or missing value they record an error and return a
/// placeholder, so decoding goes on and finds the file's other problems. The loader only
/// returns the spec when no error was recorded, so placeholders never escape.
struct PipelineDecoder {
    /// The problems found so far (starting with those of the YAML reader).
    private(set) var errors: [PipelineError]
    /// Values whose interpolation already failed and was reported.
    private let failedLocations: Set<SourceLocation>

    /// Continues after `reader`, taking over its errors.
    init(after reader: YAMLTreeReader) {
        errors = reader.errors
        failedLocations = reader.failedLocations
    }

    /// Records a problem.
    mutating func report(_ message: String, at location: SourceLocation) {
        errors.append(PipelineError(location: location, message: message))
    }

    /// Records that `value`, under `key`, is not what `expectation` describes, e.g.
    /// `retained must be an integer >= 1, got 'three'`. Secret values are never shown.
    mutating func reportInvalid(_ key: String, _ value: ConfigValue, expected expectation: String) {
        // A scalar whose interpolation failed has already been reported; its raw text being
        // "the wrong type" is a consequence, not a second problem.
        guard !failedLocations.contains(value.location) else { return }
        let actual = value.messageDescription(isSecret: SecretRedaction.isSecretKey(key))
        report("\(key) must be \(expectation), got \(actual)", at: value.location)
    }
}

// MARK: - Sections

extension PipelineDecoder {
    /// A mapping of the pipeline file whose keys have been checked against the known ones.
    struct Section {
        /// How messages refer to the section: "checkpointing", "transforms item 1".
        var name: String
        /// Where "missing required key" errors point: the section's key, or the mapping itself.
        var location: SourceLocation
        /// The entries in file order.
        var entries: [ConfigValue.ObjectEntry]

        /// The value under `key`, if present.
        subscript(key: String) -> ConfigValue? {
            entries.first { $0.key == key }?.value
        }
    }

    /// `value` as a section, reporting each key not in `knownKeys`; `nil` (reported) when it is
    /// not a mapping. An empty value (`restart:` with nothing after it) is an empty section.
    mutating func section(
        _ value: ConfigValue, name: String, keyLocation: SourceLocation?, knownKeys: [String]
    ) -> Section? {
        let location = keyLocation ?? value.location
        switch value {
        case .null:
            return Section(name: name, location: location, entries: [])
        case let .object(entries, _):
            for entry in entries where !knownKeys.contains(entry.key) {
                report(KeySuggestion.unknownKeyMessage(entry.key, context: "in \(name)", knownKeys: knownKeys),
                       at: entry.keyLocation)
            }
            return Section(name: name, location: location, entries: entries)
        default:
            reportInvalid(name, value, expected: "a mapping")
            return nil
        }
    }

    /// Reports that `section` lacks the required `key`.
    mutating func reportMissing(_ key: String, in section: Section) {
        report("missing required key '\(key)' in \(section.name)", at: section.location)
    }
}

// MARK: - Scalars

extension PipelineDecoder {
    /// A non-empty string; `fallback` when absent (reported if `required`) or invalid.
    mutating func string(_ key: String, in section: Section, required: Bool, fallback: String = "") -> String {
        guard let value = section[key] else {
            if required { reportMissing(key, in: section) }
            return fallback
        }
        guard case let .string(text, _) = value, !text.isEmpty else {
            reportInvalid(key, value, expected: "a non-empty string")
            return fallback
        }
        return text
    }

    /// An integer in `range`; `fallback` when absent or invalid. `rangeText` (">= 1") completes
    /// the message "must be an integer >= 1".
    mutating func integer(
        _ key: String, in section: Section, range: ClosedRange<Int>, rangeText: String, fallback: Int
    ) -> Int {
        guard let value = section[key] else { return fallback }
        guard case let .int(number, _) = value, let integer = Int(exactly: number), range.contains(integer) else {
            reportInvalid(key, value, expected: "an integer \(rangeText)")
            return fallback
        }
        return integer
    }

    /// `true` or `false`; `fallback` when absent or invalid.
    mutating func boolean(_ key: String, in section: Section, fallback: Bool) -> Bool {
        guard let value = section[key] else { return fallback }
        guard case let .bool(flag, _) = value else {
            reportInvalid(key, value, expected: "true or false")
            return fallback
        }
        return flag
    }

    /// A number (integer or not) of at least `minimum`; `fallback` when absent or invalid.
    /// `rangeText` (">= 1") completes the message "must be a number >= 1".
    mutating func number(
        _ key: String, in section: Section, minimum: Double, rangeText: String, fallback: Double
    ) -> Double {
        guard let value = section[key] else { return fallback }
        let number: Double?
        switch value {
        case let .int(integer, _): number = Double(integer)
        case let .double(double, _): number = double
        default: number = nil
        }
        guard let number, number >= minimum else {
            reportInvalid(key, value, expected: "a number \(rangeText)")
            return fallback
        }
        return number
    }

    /// A duration (see `Duration.init(configValue:)`); `fallback` when absent or invalid.
    /// With `positive`, zero is rejected; `alternatives` (", or off") extends the message.
    mutating func duration(
        _ key: String, in section: Section, positive: Bool, alternatives: String = "", fallback: Duration
    ) -> Duration {
        guard let value = section[key] else { return fallback }
        guard let duration = Duration(configValue: value), !positive || duration > .zero else {
            let kind = positive ? "a positive duration" : "a duration"
            reportInvalid(key, value, expected: "\(kind) such as 250ms, 5s, 2m or 1h\(alternatives)")
            return fallback
        }
        return duration
    }

    /// One of `T`'s raw values; `fallback` when absent or invalid.
    mutating func choice<T: RawRepresentable & CaseIterable>(
        _ key: String, in section: Section, fallback: T
    ) -> T where T.RawValue == String {
        guard let value = section[key] else { return fallback }
        guard case let .string(text, _) = value, let choice = T(rawValue: text) else {
            let choices = T.allCases.map(\.rawValue).joined(separator: ", ")
            reportInvalid(key, value, expected: "one of \(choices)")
            return fallback
        }
        return choice
    }
}
