import PluginABI

/// The Arrow C Data Interface format strings sluice understands, decoded once per column so
/// hot loops switch on an enum instead of comparing strings.
///
/// Pure value type; safe on any thread.
public enum ArrowFormat: Equatable, Sendable {
    case boolean
    case int8, int16, int32, int64
    case uint8, uint16, uint32, uint64
    case float32, float64
    /// UTF-8 string with 32-bit offsets ("u").
    case utf8
    /// Bytes with 32-bit offsets ("z").
    case binary
    /// Days since the epoch, 32-bit ("tdD").
    case date32
    /// Timestamp, 64-bit, with unit and optional time zone ("tsm:UTC").
    case timestamp(TimeUnit, timeZone: String)
    /// A struct ("+s"): a batch's top-level array.
    case structure
    case unsupported(String)

    public enum TimeUnit: String, Sendable {
        case seconds = "s", milliseconds = "m", microseconds = "u", nanoseconds = "n"
    }

    public init(_ format: String) {
        switch format {
        case "b": self = .boolean
        case "c": self = .int8
        case "s": self = .int16
        case "i": self = .int32
        case "l": self = .int64
        case "C": self = .uint8
        case "S": self = .uint16
        case "I": self = .uint32
        case "L": self = .uint64
        case "f": self = .float32
        case "g": self = .float64
        case "u": self = .utf8
        case "z": self = .binary
        case "tdD": self = .date32
        case "+s": self = .structure
        default:
            if format.hasPrefix("ts"), format.count >= 4,
               let unit = TimeUnit(rawValue: String(format[format.index(format.startIndex, offsetBy: 2)])),
               format[format.index(format.startIndex, offsetBy: 3)] == ":" {
                self = .timestamp(unit, timeZone: String(format.dropFirst(4)))
            } else {
                self = .unsupported(format)
            }
        }
    }

    /// The format string as the C Data Interface spells it.
    public var formatString: String {
        switch self {
        case .boolean: return "b"
        case .int8: return "c"
        case .int16: return "s"
        case .int32: return "i"
        case .int64: return "l"
        case .uint8: return "C"
        case .uint16: return "S"
        case .uint32: return "I"
        case .uint64: return "L"
        case .float32: return "f"
        case .float64: return "g"
        case .utf8: return "u"
        case .binary: return "z"
        case .date32: return "tdD"
        case .timestamp(let unit, let zone): return "ts\(unit.rawValue):\(zone)"
        case .structure: return "+s"
        case .unsupported(let s): return s
        }
    }

    /// Bytes per value for fixed-width types, nil for booleans (bits) and variable-width types.
    public var byteWidth: Int? {
        switch self {
        case .int8, .uint8: return 1
        case .int16, .uint16: return 2
        case .int32, .uint32, .float32, .date32: return 4
        case .int64, .uint64, .float64, .timestamp: return 8
        default: return nil
        }
    }

    public var isVariableWidth: Bool { self == .utf8 || self == .binary }
}
