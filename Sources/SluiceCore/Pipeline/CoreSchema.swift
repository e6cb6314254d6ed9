import Foundation

/// Typing of plain YAML scalars by the YAML 1.2 core schema.
///
/// The loader does this itself instead of leaving it to Yams so it can run *after* `${VAR}`
/// interpolation: `count: ${N:-5}` is the integer 5, not the string "5". Yams' own resolver
/// also follows YAML 1.1, where `off` and `no` are booleans, which would break `interval: off`.
enum CoreSchema {
    /// The typed value of a plain (unquoted) scalar's text.
    static func resolve(_ text: String, at location: SourceLocation) -> ConfigValue {
        switch text {
        case "", "~", "null", "Null", "NULL":
            return .null(location)
        case "true", "True", "TRUE":
            return .bool(true, location)
        case "false", "False", "FALSE":
            return .bool(false, location)
        default:
            break
        }
        if let integer = integer(text) {
            return .int(integer, location)
        }
        // Integers too large for 64 bits become doubles, as in most YAML and JSON readers.
        // `.inf` and `.nan` deliberately stay strings: JSON, which plugins receive, has no
        // representation for them, and turning them into null would lose the user's intent.
        if text.wholeMatch(of: floatPattern) != nil || text.wholeMatch(of: decimalPattern) != nil,
           let double = Double(text), double.isFinite {
            return .double(double, location)
        }
        return .string(text, location)
    }

    // MARK: - Numbers

    private static let decimalPattern = try! Regex("[-+]?[0-9]+")
    private static let octalPattern = try! Regex("0o[0-7]+")
    private static let hexPattern = try! Regex("0x[0-9a-fA-F]+")
    private static let floatPattern = try! Regex("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?")

    /// Decimal (`-12`), octal (`0o17`) and hexadecimal (`0x1F`) integers that fit in Int64.
    private static func integer(_ text: String) -> Int64? {
        if text.wholeMatch(of: octalPattern) != nil { return Int64(text.dropFirst(2), radix: 8) }
        if text.wholeMatch(of: hexPattern) != nil { return Int64(text.dropFirst(2), radix: 16) }
        if text.wholeMatch(of: decimalPattern) != nil { return Int64(text) }
        return nil
    }
}
