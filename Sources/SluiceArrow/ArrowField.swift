import PluginABI

/// One column of a batch's schema, without data: what a plugin declares it will emit
/// (the `output_schema` hook of ABI 1.1) and what the host checks along a pipeline.
///
/// Pure value type; safe on any thread.
public struct ArrowField: Equatable, Sendable, CustomStringConvertible {
    public var name: String
    public var format: ArrowFormat
    public var nullable: Bool

    public init(name: String, format: ArrowFormat, nullable: Bool = true) {
        self.name = name
        self.format = format
        self.nullable = nullable
    }

    /// `name type` with a `?` for nullable columns, e.g. `value_cbrt float64?`.
    public var description: String { "\(name) \(format.typeName)\(nullable ? "?" : "")" }

    // MARK: - C Data Interface

    /// Exports `fields` as a "+s" schema moved into `schema` (the receiver releases it).
    public static func export(_ fields: [ArrowField], to schema: UnsafeMutablePointer<ArrowSchema>) {
        ArrowExporter.exportSchema(fields: fields, schema: schema)
    }

    /// Reads the columns of a "+s" schema (borrowed: nothing is released or kept).
    public static func fields(of schema: UnsafePointer<ArrowSchema>) throws -> [ArrowField] {
        let s = schema.pointee
        guard let format = s.format, String(cString: format) == "+s" else {
            throw ArrowFormatError("a batch schema must be a struct (format \"+s\")")
        }
        var fields: [ArrowField] = []
        fields.reserveCapacity(Int(s.n_children))
        for i in 0..<Int(s.n_children) {
            guard let child = s.children?[i] else { throw ArrowFormatError("column \(i) of the schema is missing") }
            fields.append(ArrowField(
                name: child.pointee.name.map { String(cString: $0) } ?? "",
                format: ArrowFormat(child.pointee.format.map { String(cString: $0) } ?? ""),
                nullable: child.pointee.flags & Int64(ARROW_FLAG_NULLABLE) != 0))
        }
        return fields
    }
}

extension ArrowBatchView {
    /// The schema of the viewed batch.
    public var fields: [ArrowField] { columns.map { ArrowField(name: $0.name, format: $0.format, nullable: $0.nullable) } }
}

extension ArrowFormat {
    /// A short human name for messages: `int64`, `float64`, `utf8`, `timestamp[ms, UTC]`...
    public var typeName: String {
        switch self {
        case .boolean: return "bool"
        case .int8: return "int8"
        case .int16: return "int16"
        case .int32: return "int32"
        case .int64: return "int64"
        case .uint8: return "uint8"
        case .uint16: return "uint16"
        case .uint32: return "uint32"
        case .uint64: return "uint64"
        case .float32: return "float32"
        case .float64: return "float64"
        case .utf8: return "utf8"
        case .binary: return "binary"
        case .date32: return "date32"
        case .timestamp(let unit, let zone):
            return "timestamp[\(unit == .seconds ? "s" : unit.rawValue + "s")\(zone.isEmpty ? "" : ", " + zone)]"
        case .structure: return "struct"
        case .unsupported(let f): return "\"\(f)\""
        }
    }

    /// The format a type name stands for, as ``typeName`` prints it or as a configuration
    /// writes it (`input_schema`): "int64", "utf8", "timestamp[ms, UTC]", and the aliases
    /// "boolean", "float", "double" and "string". Case and spaces do not matter. Nil for
    /// anything else (structs and unsupported formats have no name to parse).
    public init?(typeName: String) {
        let name = String(typeName.lowercased().filter { $0 != " " })
        switch name {
        case "bool", "boolean": self = .boolean
        case "int8": self = .int8
        case "int16": self = .int16
        case "int32": self = .int32
        case "int64": self = .int64
        case "uint8": self = .uint8
        case "uint16": self = .uint16
        case "uint32": self = .uint32
        case "uint64": self = .uint64
        case "float32", "float": self = .float32
        case "float64", "double": self = .float64
        case "utf8", "string": self = .utf8
        case "binary": self = .binary
        case "date32": self = .date32
        default:
            guard name.hasPrefix("timestamp["), name.hasSuffix("]") else { return nil }
            let inner = name.dropFirst("timestamp[".count).dropLast().split(separator: ",", maxSplits: 1)
            let unit: TimeUnit
            switch inner.first ?? "" {
            case "s": unit = .seconds
            case "ms": unit = .milliseconds
            case "us": unit = .microseconds
            case "ns": unit = .nanoseconds
            default: return nil
            }
            // The zone keeps its case ("UTC", "Europe/Paris"): take it from the original text.
            let zone = inner.count > 1 ? Self.zone(in: typeName) : ""
            self = .timestamp(unit, timeZone: zone)
        }
    }

    private static func zone(in typeName: String) -> String {
        guard let comma = typeName.firstIndex(of: ","), let close = typeName.lastIndex(of: "]") else { return "" }
        let zone = typeName[typeName.index(after: comma)..<close].drop { $0 == " " }
        return String(zone.reversed().drop { $0 == " " }.reversed())
    }
}
