/// A C function type as written in a pipeline: `double(double)`,
/// `int32_t(const char*, int64_t)`, `double calibrate(double raw, double offset, double gain)`.
///
/// Grammar: `RESULT [NAME] ( [void | PARAM {, PARAM}] )` where RESULT and PARAM are one of
/// the spellings of `CType` and a PARAM may carry a name (ignored). Whitespace is free and
/// `*` may touch either side. Not supported, with a message saying so: `void` results,
/// variadic functions (`...`), plain `char` (its sign differs between platforms), other
/// pointers, structs, `long double`.
///
/// Pure value type; any thread.
struct Signature: Equatable, Sendable {
    var result: CType
    /// The function name, when the signature spells one (it must then match `symbol`).
    var name: String?
    var parameters: [CType]

    struct ParseError: Error, CustomStringConvertible, Equatable {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// `double(double, int32_t)`, the canonical spelling.
    var description: String {
        "\(result.spelling)\(name.map { " " + $0 } ?? "")(\(parameters.map(\.spelling).joined(separator: ", ")))"
    }

    // MARK: - Parsing

    static func parse(_ text: String) throws -> Signature {
        let tokens = try tokenize(text)
        guard let open = tokens.firstIndex(of: "(") else {
            throw ParseError("signature '\(text)' has no parameter list; write it like a C function type, e.g. \"double(double)\"")
        }
        guard tokens.last == ")", tokens.filter({ $0 == "(" }).count == 1, tokens.filter({ $0 == ")" }).count == 1 else {
            throw ParseError("signature '\(text)' must end with one parameter list in parentheses, e.g. \"double(double, int32_t)\"")
        }
        let head = Array(tokens[..<open])
        guard !head.isEmpty else {
            throw ParseError("signature '\(text)' has no result type; write e.g. \"double(double)\"")
        }
        if head == ["void"] {
            throw ParseError("a function returning void produces no value for the output column; declare a scalar result type")
        }
        let (result, name) = try type(head, role: "result type")

        let inner = Array(tokens[(open + 1)..<(tokens.count - 1)])
        var parameters: [CType] = []
        if !(inner.isEmpty || inner == ["void"]) {
            var groups: [[String]] = [[]]
            for token in inner {
                if token == "," { groups.append([]) } else { groups[groups.count - 1].append(token) }
            }
            for (i, group) in groups.enumerated() {
                if group == ["..."] {
                    throw ParseError("variadic functions (...) cannot be called through a fixed signature; wrap the function in one with fixed parameters")
                }
                guard !group.isEmpty else { throw ParseError("parameter \(i + 1) of signature '\(text)' is empty") }
                parameters.append(try type(group, role: "parameter \(i + 1)").type)
            }
        }
        return Signature(result: result, name: name, parameters: parameters)
    }

    /// Splits into identifiers, `*`, `(`, `)`, `,` and `...`.
    private static func tokenize(_ text: String) throws -> [String] {
        var tokens: [String] = []
        var word = ""
        func flush() { if !word.isEmpty { tokens.append(word); word = "" } }
        let chars = Array(text)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if c.isLetter || c.isNumber || c == "_" {
                word.append(c)
            } else if c.isWhitespace {
                flush()
            } else if c == "*" || c == "(" || c == ")" || c == "," {
                flush()
                tokens.append(String(c))
            } else if c == ".", i + 2 < chars.count, chars[i + 1] == ".", chars[i + 2] == "." {
                flush()
                tokens.append("...")
                i += 2
            } else {
                throw ParseError("unexpected character '\(c)' in signature '\(text)'")
            }
            i += 1
        }
        flush()
        return tokens
    }

    private static let keywords: Set<String> = ["const", "char", "signed", "unsigned", "short", "int", "long", "float", "double",
                                                "void", "bool", "_Bool", "struct", "union", "enum", "volatile", "*"]

    /// A type, optionally followed by a name.
    private static func type(_ tokens: [String], role: String) throws -> (type: CType, name: String?) {
        if let type = lookup(tokens) { return (type, nil) }
        if tokens.count >= 2, let last = tokens.last, !keywords.contains(last), isIdentifier(last),
           let type = lookup(Array(tokens.dropLast())) {
            return (type, last)
        }
        let written = tokens.joined(separator: " ").replacingOccurrences(of: " *", with: "*")
        let bare = tokens.filter { !isIdentifier($0) || keywords.contains($0) }
        if bare == ["char"] || tokens == ["char"] {
            throw ParseError("\(role) 'char' is ambiguous (signed on x86, unsigned on ARM); write int8_t, uint8_t, or const char* for a string")
        }
        if tokens.contains("*") {
            throw ParseError("\(role) '\(written)' is a pointer; only const char* (a NUL-terminated string) is supported")
        }
        if tokens.contains("long") && tokens.contains("double") {
            throw ParseError("\(role) 'long double' is not supported; use double")
        }
        if tokens.first == "struct" || tokens.first == "union" || tokens.first == "enum" {
            throw ParseError("\(role) '\(written)' is not a scalar; only integers, float, double, bool and const char* are supported")
        }
        if tokens == ["void"] {
            throw ParseError("\(role) cannot be void")
        }
        throw ParseError("unknown \(role) '\(written)'; use int8_t...int64_t, uint8_t...uint64_t (or int8...uint64, int, long, size_t...), float, double, bool or const char*")
    }

    private static let table: [[String]: CType] = {
        var table: [[String]: CType] = [:]
        for type in CType.allCases { for spelling in type.spellings { table[spelling] = type } }
        return table
    }()

    private static func lookup(_ tokens: [String]) -> CType? { table[tokens] }

    private static func isIdentifier(_ token: String) -> Bool {
        guard let first = token.first, first.isLetter || first == "_" else { return false }
        return token.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
    }
}
