/// A ClickHouse column type the sink can encode in the Native format, parsed from the type
/// name `DESCRIBE TABLE` returns.
///
/// Pure value type; any thread.
indirect enum ClickHouseType: Equatable, CustomStringConvertible {
    case int8, int16, int32, int64
    case uint8, uint16, uint32, uint64
    case float32, float64
    case bool
    case string
    case fixedString(Int)
    /// Days since 1970-01-01, UInt16.
    case date
    /// Seconds since the epoch, UInt32; optional time zone.
    case dateTime(timeZone: String?)
    /// Ticks of 10^-precision seconds since the epoch, Int64.
    case dateTime64(precision: Int, timeZone: String?)
    case nullable(ClickHouseType)
    /// LowCardinality(String) or LowCardinality(Nullable(String)).
    case lowCardinality(ClickHouseType)

    /// Parses a type name; nil for types the sink cannot write (Array, Decimal, UUID, ...).
    init?(parsing text: String) {
        let name = text.trimmingCharacters(in: .whitespaces)
        switch name {
        case "Int8": self = .int8
        case "Int16": self = .int16
        case "Int32": self = .int32
        case "Int64": self = .int64
        case "UInt8": self = .uint8
        case "UInt16": self = .uint16
        case "UInt32": self = .uint32
        case "UInt64": self = .uint64
        case "Float32": self = .float32
        case "Float64": self = .float64
        case "Bool", "Boolean": self = .bool
        case "String": self = .string
        case "Date": self = .date
        case "DateTime": self = .dateTime(timeZone: nil)
        default:
            guard let open = name.firstIndex(of: "("), name.hasSuffix(")") else { return nil }
            let head = String(name[..<open])
            let inner = String(name[name.index(after: open)..<name.index(before: name.endIndex)])
            let arguments = ClickHouseType.splitArguments(inner)
            switch head {
            case "Nullable":
                guard let nested = ClickHouseType(parsing: inner), nested.canBeInsideNullable else { return nil }
                self = .nullable(nested)
            case "LowCardinality":
                guard let nested = ClickHouseType(parsing: inner) else { return nil }
                switch nested {
                case .string, .nullable(.string): self = .lowCardinality(nested)
                default: return nil
                }
            case "FixedString":
                guard arguments.count == 1, let n = Int(arguments[0]), n > 0 else { return nil }
                self = .fixedString(n)
            case "DateTime":
                guard arguments.count == 1 else { return nil }
                self = .dateTime(timeZone: ClickHouseType.unquote(arguments[0]))
            case "DateTime64":
                guard (1...2).contains(arguments.count), let p = Int(arguments[0]), (0...9).contains(p) else { return nil }
                self = .dateTime64(precision: p, timeZone: arguments.count == 2 ? ClickHouseType.unquote(arguments[1]) : nil)
            default:
                return nil
            }
        }
    }

    var canBeInsideNullable: Bool {
        switch self {
        case .nullable, .lowCardinality: return false
        default: return true
        }
    }

    var isNullable: Bool {
        switch self {
        case .nullable, .lowCardinality(.nullable): return true
        default: return false
        }
    }

    /// The type without Nullable / LowCardinality wrappers.
    var base: ClickHouseType {
        switch self {
        case .nullable(let t), .lowCardinality(let t): return t.base
        default: return self
        }
    }

    /// Bytes per value of fixed-width base types.
    var byteWidth: Int? {
        switch self {
        case .int8, .uint8, .bool: return 1
        case .int16, .uint16, .date: return 2
        case .int32, .uint32, .float32, .dateTime: return 4
        case .int64, .uint64, .float64, .dateTime64: return 8
        case .fixedString(let n): return n
        default: return nil
        }
    }

    /// The canonical spelling (used in messages; the Native header uses the server's own text).
    var description: String {
        switch self {
        case .int8: return "Int8"
        case .int16: return "Int16"
        case .int32: return "Int32"
        case .int64: return "Int64"
        case .uint8: return "UInt8"
        case .uint16: return "UInt16"
        case .uint32: return "UInt32"
        case .uint64: return "UInt64"
        case .float32: return "Float32"
        case .float64: return "Float64"
        case .bool: return "Bool"
        case .string: return "String"
        case .fixedString(let n): return "FixedString(\(n))"
        case .date: return "Date"
        case .dateTime(let tz): return tz.map { "DateTime('\($0)')" } ?? "DateTime"
        case .dateTime64(let p, let tz): return tz.map { "DateTime64(\(p), '\($0)')" } ?? "DateTime64(\(p))"
        case .nullable(let t): return "Nullable(\(t))"
        case .lowCardinality(let t): return "LowCardinality(\(t))"
        }
    }

    /// Integer range of integer-like base types (Bool and the date types included).
    var integerRange: (min: Int64, max: UInt64)? {
        switch self {
        case .int8: return (Int64(Int8.min), UInt64(Int8.max))
        case .int16: return (Int64(Int16.min), UInt64(Int16.max))
        case .int32: return (Int64(Int32.min), UInt64(Int32.max))
        case .int64: return (Int64.min, UInt64(Int64.max))
        case .uint8: return (0, UInt64(UInt8.max))
        case .uint16, .date: return (0, UInt64(UInt16.max))
        case .uint32, .dateTime: return (0, UInt64(UInt32.max))
        case .uint64: return (0, UInt64.max)
        case .bool: return (0, 1)
        case .dateTime64: return (Int64.min, UInt64(Int64.max))
        default: return nil
        }
    }

    // MARK: - Parsing helpers

    /// Splits "3, 'Europe/Berlin'" at top-level commas.
    static func splitArguments(_ text: String) -> [String] {
        var parts: [String] = [], current = "", depth = 0, quoted = false
        for ch in text {
            if ch == "'" { quoted.toggle() }
            if !quoted {
                if ch == "(" { depth += 1 }
                if ch == ")" { depth -= 1 }
                if ch == "," && depth == 0 {
                    parts.append(current.trimmingCharacters(in: .whitespaces))
                    current = ""
                    continue
                }
            }
            current.append(ch)
        }
        if !current.trimmingCharacters(in: .whitespaces).isEmpty { parts.append(current.trimmingCharacters(in: .whitespaces)) }
        return parts
    }

    static func unquote(_ text: String) -> String {
        var t = text.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix("'") && t.hasSuffix("'") && t.count >= 2 { t = String(t.dropFirst().dropLast()) }
        return t
    }
}

import Foundation
