/// A YAML value after environment interpolation and core-schema typing, with the location of
/// every node so errors (including those plugins report by JSON Pointer) can name a line.
public indirect enum ConfigValue: Sendable {
    /// `null`, `~` or an empty plain scalar.
    case null(SourceLocation)
    /// `true` or `false` (YAML 1.2: `yes`/`no`/`on`/`off` are strings).
    case bool(Bool, SourceLocation)
    /// An integer that fits in 64 bits.
    case int(Int64, SourceLocation)
    /// A finite floating-point number.
    case double(Double, SourceLocation)
    /// Any other scalar, and every quoted scalar.
    case string(String, SourceLocation)
    /// A sequence.
    case array([ConfigValue], SourceLocation)
    /// A mapping, entries in the order written (merge keys already applied).
    case object([(key: String, keyLocation: SourceLocation, value: ConfigValue)], SourceLocation)

    /// One key of a mapping with its value (the shape of `.object`'s elements).
    typealias ObjectEntry = (key: String, keyLocation: SourceLocation, value: ConfigValue)

    /// Where the value starts in the file.
    public var location: SourceLocation {
        switch self {
        case let .null(location), let .bool(_, location), let .int(_, location),
             let .double(_, location), let .string(_, location), let .array(_, location),
             let .object(_, location):
            return location
        }
    }
}

// MARK: - Describing values in messages

extension ConfigValue {
    /// The JSON Schema name of the value's type: "null", "boolean", "integer", "number",
    /// "string", "array" or "object".
    var schemaTypeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// The value as an error message shows it after "got": scalars verbatim (strings quoted),
    /// containers by kind. A secret shows only its type, because error messages end up in logs
    /// and terminals.
    func messageDescription(isSecret: Bool) -> String {
        if isSecret {
            return "a value of type \(schemaTypeName) (not shown: the key looks like a secret)"
        }
        switch self {
        case .null: return "null"
        case let .bool(value, _): return String(value)
        case let .int(value, _): return String(value)
        case let .double(value, _): return String(value)
        case let .string(value, _): return "'\(value)'"
        case .array: return "a list"
        case .object: return "a mapping"
        }
    }

    /// The entries when the value is a mapping.
    var objectEntries: [ObjectEntry]? {
        guard case let .object(entries, _) = self else { return nil }
        return entries
    }
}
