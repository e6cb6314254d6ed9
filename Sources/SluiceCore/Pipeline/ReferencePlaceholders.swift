/// Hides `${...}` references from the YAML parser, so they may stand anywhere a scalar may,
/// flow mappings included (`config: { count: ${N:-5} }`, where `{`, `}` and `,` are YAML
/// syntax), while every location the parser reports stays exact.
///
/// Before parsing, each reference is replaced by a placeholder of the same number of characters
/// (libyaml counts columns in characters), made of characters from a Unicode private-use plane
/// that YAML reads as ordinary text. After parsing, a scalar's placeholders are turned back into
/// their references, and `EnvironmentInterpolation` expands them as before.
///
/// So a variable's value never passes through the YAML parser: whatever it contains (quotes,
/// `#`, `: `, newlines, `{`) it becomes exactly one scalar, typed after substitution when it
/// stands unquoted. References only span one line; `$${` stays a literal `${`.
struct ReferencePlaceholders {
    /// The references found, in order; a placeholder encodes its index here.
    private(set) var references: [String] = []
    /// The first character of every placeholder: the base of the private-use plane chosen.
    private let base: UInt32

    /// Planes 15 and 16 are private use; the one the file does not use at all is chosen.
    private static let candidatePlanes: [UInt32] = [0xF0000, 0x100000]
    /// Index digits per placeholder character (each plane has 65,534 usable code points).
    private static let radix: UInt32 = 0x8000

    /// The text to parse, with references replaced; nil `placeholders` when the file has no
    /// reference (the common case, and then nothing changes).
    static func hide(in text: String) -> (text: String, placeholders: ReferencePlaceholders?) {
        guard text.contains("${") else { return (text, nil) }
        let scalars = Array(text.unicodeScalars)
        guard let base = candidatePlanes.first(where: { plane in
            !scalars.contains { $0.value >= plane && $0.value < plane + 0x10000 }
        }) else { return (text, nil) }
        var placeholders = ReferencePlaceholders(base: base)
        var output = String.UnicodeScalarView()
        output.reserveCapacity(scalars.count)
        var i = 0
        while i < scalars.count {
            let c = scalars[i]
            // `$${` is a literal, left to EnvironmentInterpolation.
            if c == "$", i + 2 < scalars.count, scalars[i + 1] == "$", scalars[i + 2] == "{" {
                output.append(contentsOf: scalars[i...(i + 2)])
                i += 3
                continue
            }
            if c == "$", i + 1 < scalars.count, scalars[i + 1] == "{",
               let close = scalars[(i + 2)...].firstIndex(where: { $0 == "}" || $0 == "\n" || $0 == "\r" }),
               scalars[close] == "}",
               let placeholder = placeholders.placeholder(for: String(String.UnicodeScalarView(scalars[i...close])),
                                                          length: close - i + 1) {
                output.append(contentsOf: placeholder)
                i = close + 1
                continue
            }
            output.append(c)
            i += 1
        }
        return (String(output), placeholders)
    }

    private init(base: UInt32) {
        self.base = base
    }

    /// `length` characters standing for `reference`: a marker, then the index in base `radix`,
    /// padded with zeros. Nil when the index does not fit (a reference of 3 characters, `${}`,
    /// which is left as written for interpolation to report).
    private mutating func placeholder(for reference: String, length: Int) -> [Unicode.Scalar]? {
        let digits = length - 1
        guard digits >= 1 else { return nil }
        var index = UInt32(references.count)
        var encoded = [Unicode.Scalar](repeating: Unicode.Scalar(base + 1)!, count: digits)
        for position in stride(from: digits - 1, through: 0, by: -1) {
            encoded[position] = Unicode.Scalar(base + 1 + index % Self.radix)!
            index /= Self.radix
        }
        guard index == 0 else { return nil }
        references.append(reference)
        return [Unicode.Scalar(base)!] + encoded
    }

    /// `text` (a parsed scalar) with its placeholders turned back into the references they hide.
    func restore(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { isPlaceholder($0) }) else { return text }
        var output = String.UnicodeScalarView()
        let scalars = Array(text.unicodeScalars)
        var i = 0
        while i < scalars.count {
            guard scalars[i].value == base else {
                output.append(scalars[i])
                i += 1
                continue
            }
            // The marker, then digits up to the next marker or ordinary character.
            var index = 0
            var j = i + 1
            while j < scalars.count, scalars[j].value > base, isPlaceholder(scalars[j]) {
                index = index * Int(Self.radix) + Int(scalars[j].value - base - 1)
                j += 1
            }
            if index < references.count {
                output.append(contentsOf: references[index].unicodeScalars)
            }
            i = j
        }
        return String(output)
    }

    private func isPlaceholder(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value >= base && scalar.value <= base + Self.radix
    }
}
