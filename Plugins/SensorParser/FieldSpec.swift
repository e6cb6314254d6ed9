import PluginKit

/// The type of one output column and how its JSON value is read.
enum FieldType: Equatable {
    case string
    case bool
    case int(bits: Int)
    case uint(bits: Int)
    case float32, float64
    /// A JSON number of seconds, milliseconds or microseconds since the epoch, or an ISO-8601
    /// string; stored as an Arrow timestamp of `unit` (ISO-8601 strings as milliseconds).
    case timestamp(TimestampUnit)

    enum TimestampUnit: String { case s, ms, us, iso8601 }

    init?(name: String, unit: String?) {
        switch name {
        case "string": self = .string
        case "bool", "boolean": self = .bool
        case "int8": self = .int(bits: 8)
        case "int16": self = .int(bits: 16)
        case "int32": self = .int(bits: 32)
        case "int64": self = .int(bits: 64)
        case "uint8": self = .uint(bits: 8)
        case "uint16": self = .uint(bits: 16)
        case "uint32": self = .uint(bits: 32)
        case "uint64": self = .uint(bits: 64)
        case "float32", "float": self = .float32
        case "float64", "double": self = .float64
        case "timestamp":
            guard let unit = TimestampUnit(rawValue: unit ?? "ms") else { return nil }
            self = .timestamp(unit)
        default: return nil
        }
    }

    var arrowFormat: ArrowFormat {
        switch self {
        case .string: return .utf8
        case .bool: return .boolean
        case .int(8): return .int8
        case .int(16): return .int16
        case .int(32): return .int32
        case .int: return .int64
        case .uint(8): return .uint8
        case .uint(16): return .uint16
        case .uint(32): return .uint32
        case .uint: return .uint64
        case .float32: return .float32
        case .float64: return .float64
        case .timestamp(.s): return .timestamp(.seconds, timeZone: "UTC")
        case .timestamp(.us): return .timestamp(.microseconds, timeZone: "UTC")
        case .timestamp: return .timestamp(.milliseconds, timeZone: "UTC")
        }
    }

    var label: String {
        switch self {
        case .string: return "string"
        case .bool: return "bool"
        case .int(let b): return "int\(b)"
        case .uint(let b): return "uint\(b)"
        case .float32: return "float32"
        case .float64: return "float64"
        case .timestamp(let u): return "timestamp (\(u.rawValue))"
        }
    }

    /// The range a JSON integer must fall in for this type.
    var integerRange: (min: Int64, max: UInt64)? {
        switch self {
        case .int(let bits): return bits == 64 ? (Int64.min, UInt64(Int64.max)) : (-(Int64(1) << (bits - 1)), (UInt64(1) << (bits - 1)) - 1)
        case .uint(let bits): return (0, bits == 64 ? UInt64.max : (UInt64(1) << bits) - 1)
        default: return nil
        }
    }
}

/// One configured output column, checked and ready for the scanner.
struct FieldSpec {
    let name: String
    /// The JSON path, split at dots: "location.site" -> ["location", "site"].
    let path: [String]
    let type: FieldType
    /// Missing or null gives null instead of a dead letter.
    let nullable: Bool
    /// Used when the field is missing or null.
    let defaultValue: ScalarValue?
}

/// A parsed scalar, before it is appended to its column.
enum ScalarValue: Equatable {
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case bool(Bool)
    case string([UInt8])
}
