import PluginKit

/// What a configuration means once its signature is parsed: checks that need no library and
/// no data, and the binding of `args` to the columns of an input schema. Shared by
/// `validate`, the ABI 1.1 schema hook (`sluice validate`) and the first batch at run time, so
/// all three report the same errors at the same JSON Pointers.
///
/// Pure value type; any thread.
struct FunctionPlan: Sendable {
    let config: FunctionConfig
    let signature: Signature

    /// Parses the signature and checks everything that needs neither the library nor the
    /// input: the string-result policy, the number of arguments, the literals.
    init(_ config: FunctionConfig) throws {
        self.config = config
        do {
            signature = try Signature.parse(config.signature)
        } catch let error as Signature.ParseError {
            throw PluginError(error.description, configPath: "/signature")
        }
        if let name = signature.name, name != config.symbol {
            throw PluginError("the signature names the function '\(name)' but symbol is '\(config.symbol)'; drop the name from the signature or make them agree",
                              configPath: "/signature")
        }
        if signature.result == .string {
            if config.free == nil && !config.isStatic {
                throw PluginError("'\(config.symbol)' returns const char*: say who owns the string, with free: SYMBOL (sluice calls it on every result after copying) or static: true (the string is never freed)",
                                  configPath: "/signature")
            }
            if config.free != nil && config.isStatic {
                throw PluginError("free and static: true contradict each other; a static string must not be freed", configPath: "/free")
            }
        } else if config.free != nil {
            throw PluginError("free applies only to a const char* result, and '\(config.symbol)' returns \(signature.result.spelling)", configPath: "/free")
        } else if config.isStatic {
            throw PluginError("static applies only to a const char* result, and '\(config.symbol)' returns \(signature.result.spelling)", configPath: "/static")
        }
        guard config.args.count == signature.parameters.count else {
            let n = signature.parameters.count
            throw PluginError("'\(config.symbol)' takes \(n) argument\(n == 1 ? "" : "s") (\(signature.description)) but args lists \(config.args.count)",
                              configPath: "/args")
        }
        guard !config.output.isEmpty else { throw PluginError("output must name a column", configPath: "/output") }
        for (i, argument) in config.args.enumerated() {
            if case .literal(let literal) = argument {
                do { _ = try FunctionPlan.literalValue(literal, for: signature.parameters[i]) } catch let reason as ReasonError {
                    throw PluginError("args[\(i)]: \(reason.text) (parameter \(i + 1) of \(signature.description))", configPath: "/args/\(i)")
                }
            }
        }
    }

    // MARK: - Binding to an input schema

    /// Where parameter `i` gets its value.
    enum Source: Equatable {
        case column(index: Int, read: ColumnRead)
        case literal(Literal)
    }

    struct Binding: Equatable {
        var sources: [Source]
        /// The input columns with the output column replaced or appended.
        var output: [ArrowField]
        /// Where the result goes in `output`; equal to an input index when it replaces one.
        var outputIndex: Int
        var replaces: Bool
    }

    /// Matches `args` to `input`; throws a `PluginError` pointing at the offending item.
    func bind(_ input: [ArrowField]) throws -> Binding {
        var sources: [Source] = []
        var mayBeNull = signature.result == .string  // a NULL result pointer is a null value
        for (i, argument) in config.args.enumerated() {
            let parameter = signature.parameters[i]
            switch argument {
            case .literal(let literal):
                sources.append(.literal(literal))
            case .column(let name):
                guard let index = input.firstIndex(where: { $0.name == name }) else {
                    let available = input.isEmpty ? "it has no columns" : "it has " + input.map { "\($0.name) (\($0.format.typeName))" }.joined(separator: ", ")
                    throw PluginError("args[\(i)] names column '\(name)', which is not in the input: \(available); a string literal is written { literal: \"\(name)\" }",
                                      configPath: "/args/\(i)")
                }
                let field = input[index]
                guard let read = ColumnRead(field.format, to: parameter) else {
                    throw PluginError("args[\(i)]: column '\(name)' is \(field.format.typeName), which parameter \(i + 1) of \(signature.description) (\(parameter.spelling)) cannot take; it takes \(FunctionPlan.accepted(by: parameter))",
                                      configPath: "/args/\(i)")
                }
                sources.append(.column(index: index, read: read))
                if field.nullable && config.onNull == .null { mayBeNull = true }
            }
        }
        let field = ArrowField(name: config.output, format: signature.result.arrowFormat, nullable: mayBeNull)
        var output = input
        if let existing = input.firstIndex(where: { $0.name == config.output }) {
            output[existing] = field
            return Binding(sources: sources, output: output, outputIndex: existing, replaces: true)
        }
        output.append(field)
        return Binding(sources: sources, output: output, outputIndex: input.count, replaces: false)
    }

    /// The column types a parameter takes, for messages.
    static func accepted(by parameter: CType) -> String {
        switch parameter {
        case .bool: return "bool columns"
        case .string: return "utf8 or binary columns"
        case .float, .double: return "float32, float64 or integer columns"
        default: return "integer columns (int8...uint64, date32, timestamp; range-checked per row)"
        }
    }

    // MARK: - Literals

    struct ReasonError: Error { let text: String }

    /// A literal as the bytes of `parameter` (up to 8, little endian in a UInt64), or the
    /// reason it does not fit. Strings are handled by the caller (they need storage).
    static func literalValue(_ literal: Literal, for parameter: CType) throws -> UInt64 {
        switch (literal, parameter) {
        case (.string, .string): return 0
        case (.string, _):
            throw ReasonError(text: "a string literal cannot be passed as \(parameter.spelling)")
        case (_, .string):
            throw ReasonError(text: "literal \(literal.description) is not a string; write { literal: \"text\" }")
        case (.bool(let value), .bool): return value ? 1 : 0
        case (.bool, _), (_, .bool):
            throw ReasonError(text: "literal \(literal.description) cannot be passed as \(parameter.spelling); a bool parameter takes true or false")
        case (.number(let value), .double): return value.bitPattern
        case (.number(let value), .float): return UInt64(Float(value).bitPattern)
        case (.integer(let value), .double): return Double(value).bitPattern
        case (.integer(let value), .float): return UInt64(Float(value).bitPattern)
        case (.unsigned(let value), .double): return Double(value).bitPattern
        case (.unsigned(let value), .float): return UInt64(Float(value).bitPattern)
        case (.number(let value), _):
            guard value.rounded() == value, let exact = Int64(exactly: value) else {
                throw ReasonError(text: "literal \(literal.description) is not an integer, so it cannot be passed as \(parameter.spelling)")
            }
            return try literalValue(.integer(exact), for: parameter)
        case (.integer(let value), _):
            let range = parameter.integerRange
            guard value >= range.min, value < 0 || UInt64(value) <= range.max else {
                throw ReasonError(text: "literal \(value) does not fit \(parameter.spelling)")
            }
            return UInt64(bitPattern: value)
        case (.unsigned(let value), _):
            guard value <= parameter.integerRange.max else { throw ReasonError(text: "literal \(value) does not fit \(parameter.spelling)") }
            return value
        }
    }
}

/// How one row of a column becomes a C argument: the column's physical type (how to read
/// it) and what the parameter needs (how to convert, whether to range-check).
///
/// Rules (checked at `sluice validate` when the upstream declares its schema, else on the
/// first batch): an integer parameter takes integer, date32 and timestamp columns, range-checked
/// per row (a value that does not fit rejects the row through the dead-letter output);
/// float and double take float32, float64 and integer columns (converted as C converts; large
/// int64 values round); bool takes bool columns; const char* takes utf8 and binary columns (a
/// value with a NUL byte is rejected). Floating-point columns into integer parameters are
/// refused: truncation should be explicit.
enum ColumnRead: Equatable, Sendable {
    /// Identical representation: copy `width` bytes.
    case copy(width: Int)
    /// A signed integer of `width` bytes into an integer parameter (range-checked if needed).
    case signed(width: Int, checked: Bool)
    /// An unsigned integer of `width` bytes into an integer parameter.
    case unsigned(width: Int, checked: Bool)
    /// An integer column into float or double.
    case signedToFloating(width: Int)
    case unsignedToFloating(width: Int)
    case float32ToDouble
    case float64ToFloat
    /// A bit-packed boolean into bool.
    case bit
    /// utf8 or binary into const char* (copied, NUL-terminated).
    case bytes

    init?(_ format: ArrowFormat, to parameter: CType) {
        let integer: (signed: Bool, width: Int)?
        switch format {
        case .int8: integer = (true, 1)
        case .int16: integer = (true, 2)
        case .int32, .date32: integer = (true, 4)
        case .int64, .timestamp: integer = (true, 8)
        case .uint8: integer = (false, 1)
        case .uint16: integer = (false, 2)
        case .uint32: integer = (false, 4)
        case .uint64: integer = (false, 8)
        default: integer = nil
        }
        switch parameter {
        case .string:
            guard format == .utf8 || format == .binary else { return nil }
            self = .bytes
        case .bool:
            guard format == .boolean else { return nil }
            self = .bit
        case .double, .float:
            if let integer {
                self = integer.signed ? .signedToFloating(width: integer.width) : .unsignedToFloating(width: integer.width)
            } else if format == .float64 {
                self = parameter == .double ? .copy(width: 8) : .float64ToFloat
            } else if format == .float32 {
                self = parameter == .float ? .copy(width: 4) : .float32ToDouble
            } else {
                return nil
            }
        default:
            guard let integer else { return nil }
            let sameRepresentation = integer.width == parameter.size && integer.signed == parameter.isSignedInteger
            if sameRepresentation { self = .copy(width: integer.width); return }
            let range = parameter.integerRange
            let fits: Bool
            if integer.signed {
                // The source's range: -2^(8w-1) ... 2^(8w-1)-1.
                let bits = integer.width * 8
                let min = bits == 64 ? Int64.min : -(Int64(1) << (bits - 1))
                let max = bits == 64 ? UInt64(Int64.max) : UInt64(1) << (bits - 1) - 1
                fits = min >= range.min && max <= range.max
                self = .signed(width: integer.width, checked: !fits)
            } else {
                let max = integer.width == 8 ? UInt64.max : (UInt64(1) << (integer.width * 8)) - 1
                fits = max <= range.max
                self = .unsigned(width: integer.width, checked: !fits)
            }
        }
    }
}
