import Foundation
import PluginKit

/// The `fn` block of a pipeline:
///
///     - fn:
///         library: libm.so.6          # a path, or a name the dynamic loader finds
///         symbol: cbrt
///         signature: "double(double)"
///         args: [temperature]         # column names; numbers and booleans are literals;
///                                     # { literal: "text" } is a string literal
///         output: temperature_cbrt    # a new column, or an existing one to replace
///         on_null: "null"             # or call: pass 0 / "" / false for a null argument
///         free: free                  # string results: the function that frees them
///         static: true                # ...or: the result strings are never freed
///
/// Pure value type; any thread.
struct FunctionConfig: Decodable, Sendable {
    var library: String
    var symbol: String
    var signature: String
    var args: [Argument]
    var output: String
    var onNull: OnNull
    /// Symbol (in `library`, else anywhere in the process) that frees a `const char*` result.
    var free: String?
    /// The `const char*` result points to static storage and is not freed.
    var isStatic: Bool

    enum OnNull: String, Decodable, Sendable {
        /// A row with a null argument gets a null result; the function is not called.
        case null
        /// The function is called with 0, 0.0, false or "" in place of the null.
        case call
    }

    enum CodingKeys: String, CodingKey {
        case library, symbol, signature, args, output, free
        case onNull = "on_null"
        case isStatic = "static"
    }

    init(library: String, symbol: String, signature: String, args: [Argument], output: String,
         onNull: OnNull = .null, free: String? = nil, isStatic: Bool = false) {
        (self.library, self.symbol, self.signature, self.args, self.output) = (library, symbol, signature, args, output)
        (self.onNull, self.free, self.isStatic) = (onNull, free, isStatic)
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        library = try c.decode(String.self, forKey: .library)
        symbol = try c.decode(String.self, forKey: .symbol)
        signature = try c.decode(String.self, forKey: .signature)
        args = try c.decode([Argument].self, forKey: .args)
        output = try c.decode(String.self, forKey: .output)
        onNull = try c.decodeIfPresent(OnNull.self, forKey: .onNull) ?? .null
        free = try c.decodeIfPresent(String.self, forKey: .free)
        isStatic = try c.decodeIfPresent(Bool.self, forKey: .isStatic) ?? false
    }

    static let schema = #"""
    {"type":"object","additionalProperties":false,
     "required":["library","symbol","signature","args","output"],
     "properties":{
      "library":{"type":"string","minLength":1,"description":"path to a shared library, or a name the dynamic loader finds (libm.so.6)"},
      "symbol":{"type":"string","minLength":1,"description":"the exported C function"},
      "signature":{"type":"string","minLength":1,"description":"its C type, e.g. double(double)"},
      "args":{"type":"array","description":"one per parameter: a column name, a number or boolean literal, {literal: value} or {column: name}",
              "items":{"type":["string","number","boolean","object"],"additionalProperties":false,
                       "properties":{"literal":{"type":["string","number","boolean"]},"column":{"type":"string"}}}},
      "output":{"type":"string","minLength":1,"description":"the result column: new, or an existing one to replace"},
      "on_null":{"type":"string","enum":["null","call"],"description":"null: a null argument gives a null result (default); call: pass 0, false or an empty string"},
      "free":{"type":"string","minLength":1,"description":"for a const char* result: the function that frees it"},
      "static":{"type":"boolean","description":"for a const char* result: it is static and never freed"}}}
    """#
}

/// One item of `args`: a column of the input, or a constant.
enum Argument: Decodable, Equatable, Sendable {
    case column(String)
    case literal(Literal)

    init(from decoder: Decoder) throws {
        if let single = try? decoder.singleValueContainer() {
            if let name = try? single.decode(String.self) { self = .column(name); return }
            if let literal = Literal.decode(single) { self = .literal(literal); return }
        }
        if let keyed = try? decoder.container(keyedBy: Keys.self) {
            if keyed.contains(.literal) {
                let nested = try keyed.superDecoder(forKey: .literal).singleValueContainer()
                if let text = try? nested.decode(String.self) { self = .literal(.string(text)); return }
                if let literal = Literal.decode(nested) { self = .literal(literal); return }
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath + [Keys.literal],
                                                        debugDescription: "a literal must be a string, a number or a boolean"))
            }
            if keyed.contains(.column) {
                self = .column(try keyed.decode(String.self, forKey: .column))
                return
            }
        }
        throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
            debugDescription: "an argument is a column name, a number, a boolean, { literal: value } or { column: name }"))
    }

    private enum Keys: String, CodingKey { case literal, column }

    /// How messages refer to it: `column 'temperature'` or `literal 2.5`.
    var description: String {
        switch self {
        case .column(let name): return "column '\(name)'"
        case .literal(let literal): return "literal \(literal.description)"
        }
    }
}

/// A constant argument.
enum Literal: Equatable, Sendable {
    case integer(Int64)
    /// An integer above Int64.max (only a uint64 parameter takes it).
    case unsigned(UInt64)
    case number(Double)
    case bool(Bool)
    case string(String)

    /// Booleans and numbers (JSON keeps integers and decimals apart).
    static func decode(_ single: SingleValueDecodingContainer) -> Literal? {
        if single.decodeNil() { return nil }
        if let value = try? single.decode(Bool.self) { return .bool(value) }
        if let value = try? single.decode(Int64.self) { return .integer(value) }
        if let value = try? single.decode(UInt64.self) { return .unsigned(value) }
        if let value = try? single.decode(Double.self) { return .number(value) }
        return nil
    }

    var description: String {
        switch self {
        case .integer(let v): return String(v)
        case .unsigned(let v): return String(v)
        case .number(let v): return String(v)
        case .bool(let v): return String(v)
        case .string(let v): return "\"\(v)\""
        }
    }
}
