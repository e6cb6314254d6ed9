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
        if isFloat(text), let double = Double(text), double.isFinite {
            return .double(double, location)
        }
        return .string(text, location)
    }

    // MARK: - Numbers

    /// Decimal (`-12`), octal (`0o17`) and hexadecimal (`0x1F`) integers that fit in Int64.
    private static func integer(_ text: String) -> Int64? {
        if text.hasPrefix("0o"), isDigits(text.dropFirst(2), radix: 8) { return Int64(text.dropFirst(2), radix: 8) }
        if text.hasPrefix("0x"), isDigits(text.dropFirst(2), radix: 16) { return Int64(text.dropFirst(2), radix: 16) }
        if isDigits(dropSign(Substring(text)), radix: 10) { return Int64(text) }
        return nil
    }

    /// Whether `text` matches the core schema's float pattern (which includes plain integers):
    /// `[-+]? ( \.[0-9]+ | [0-9]+ ( \.[0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`.
    private static func isFloat(_ text: String) -> Bool {
        var rest = dropSign(Substring(text))
        let exponentStart = rest.firstIndex { $0 == "e" || $0 == "E" }
        if let exponentStart {
            guard isDigits(dropSign(rest[rest.index(after: exponentStart)...]), radix: 10) else { return false }
            rest = rest[..<exponentStart]
        }
        let parts = rest.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first else { return false }
        if parts.count == 1 { return isDigits(whole, radix: 10) }
        let fraction = parts[1]
        if whole.isEmpty { return isDigits(fraction, radix: 10) }
        return isDigits(whole, radix: 10) && (fraction.isEmpty || isDigits(fraction, radix: 10))
    }

    /// `text` without one leading "+" or "-".
    private static func dropSign(_ text: Substring) -> Substring {
        text.first == "+" || text.first == "-" ? text.dropFirst() : text
    }

    /// Whether `text` is one or more ASCII digits of `radix`.
    private static func isDigits(_ text: Substring, radix: Int) -> Bool {
        !text.isEmpty && text.allSatisfy { $0.isASCII && $0.hexDigitValue.map { $0 < radix } == true }
    }
}
