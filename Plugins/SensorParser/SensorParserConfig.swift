import PluginKit

/// The parser's YAML block.
///
///     - sensor-parser:
///         payload_column: payload        # the input column holding the JSON (binary or utf8)
///         on_error: dead-letter          # dead-letter | fail | drop
///         keep: [topic, message_id]      # input columns copied to each output row
///         columns:
///           - { name: sensor_id, type: string }
///           - { name: ts, type: timestamp, unit: ms }
///           - { name: humidity, type: float64, nullable: true }
///           - { name: site, path: location.site, type: string, default: unknown }
struct SensorParserConfig: Decodable {
    var payloadColumn: String?
    var onError: String?
    var keep: [String]?
    var columns: [Column]

    enum CodingKeys: String, CodingKey {
        case keep, columns
        case payloadColumn = "payload_column", onError = "on_error"
    }

    struct Column: Decodable {
        var name: String
        /// Dotted JSON path; defaults to the column name.
        var path: String?
        var type: String
        /// For timestamps: s, ms, us (numbers since the epoch) or iso8601 (strings).
        var unit: String?
        /// Missing or null is an error (the default) unless nullable or a default is given.
        var required: Bool?
        var nullable: Bool?
        var `default`: DefaultValue?
    }

    /// A scalar default of any JSON type.
    enum DefaultValue: Decodable {
        case bool(Bool), int(Int64), double(Double), string(String)

        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let i = try? c.decode(Int64.self) { self = .int(i) }
            else if let d = try? c.decode(Double.self) { self = .double(d) }
            else { self = .string(try c.decode(String.self)) }
        }
    }

    enum ErrorPolicy: String { case deadLetter = "dead-letter", fail, drop }

    static let schema = #"""
    {"type":"object","required":["columns"],"additionalProperties":false,"properties":{
      "payload_column":{"type":"string","description":"input column with the JSON messages (default payload)"},
      "on_error":{"type":"string","enum":["dead-letter","fail","drop"]},
      "keep":{"type":"array","items":{"type":"string"}},
      "columns":{"type":"array","items":{"type":"object","required":["name","type"],"additionalProperties":false,"properties":{
        "name":{"type":"string","minLength":1},
        "path":{"type":"string","minLength":1},
        "type":{"type":"string","enum":["string","bool","boolean","int8","int16","int32","int64","uint8","uint16","uint32","uint64","float32","float","float64","double","timestamp"]},
        "unit":{"type":"string","enum":["s","ms","us","iso8601"]},
        "required":{"type":"boolean"},
        "nullable":{"type":"boolean"},
        "default":{"type":["string","integer","number","boolean"]}}}}}}
    """#

    // MARK: - Checking

    func errorPolicy() throws -> ErrorPolicy {
        guard let policy = ErrorPolicy(rawValue: onError ?? "dead-letter") else {
            throw PluginError("on_error must be dead-letter, fail or drop", configPath: "/on_error")
        }
        return policy
    }

    /// The checked field specifications, in column order.
    func fieldSpecs() throws -> [FieldSpec] {
        guard !columns.isEmpty else { throw PluginError("columns must list at least one column", configPath: "/columns") }
        var names = Set<String>()
        return try columns.enumerated().map { index, column in
            let at = "/columns/\(index)"
            guard names.insert(column.name).inserted else {
                throw PluginError("column '\(column.name)' is listed twice", configPath: at + "/name")
            }
            guard let type = FieldType(name: column.type, unit: column.unit) else {
                throw PluginError("column '\(column.name)': unknown type '\(column.type)'\(column.unit.map { " with unit '\($0)'" } ?? "")", configPath: at + "/type")
            }
            if column.unit != nil, case .timestamp = type {} else if column.unit != nil {
                throw PluginError("column '\(column.name)': unit applies to timestamps only", configPath: at + "/unit")
            }
            let path = (column.path ?? column.name).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard path.allSatisfy({ !$0.isEmpty }) else {
                throw PluginError("column '\(column.name)': path '\(column.path ?? "")' has an empty part", configPath: at + "/path")
            }
            let nullable = column.nullable ?? !(column.required ?? true)
            let defaultValue = try column.default.map { try convert($0, to: type, column: column.name, at: at + "/default") }
            return FieldSpec(name: column.name, path: path, type: type, nullable: nullable, defaultValue: defaultValue)
        }
    }

    private func convert(_ value: DefaultValue, to type: FieldType, column: String, at path: String) throws -> ScalarValue {
        func mismatch() -> PluginError { PluginError("column '\(column)': the default does not fit type \(type.label)", configPath: path) }
        switch (type, value) {
        case (.string, .string(let s)): return .string(Array(s.utf8))
        case (.bool, .bool(let b)): return .bool(b)
        case (.float32, .int(let i)), (.float64, .int(let i)): return .double(Double(i))
        case (.float32, .double(let d)), (.float64, .double(let d)): return .double(d)
        case (.timestamp, .int(let i)): return .int(i)
        case (.int, .int(let i)), (.uint, .int(let i)):
            let range = type.integerRange!
            guard i >= range.min, i < 0 || UInt64(i) <= range.max else { throw mismatch() }
            return .int(i)
        default: throw mismatch()
        }
    }
}
