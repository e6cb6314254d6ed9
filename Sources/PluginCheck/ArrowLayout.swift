/// What the Arrow C Data Interface says an array of one format string looks like: how many
/// buffers it has, how wide its values are and how many children it needs.
///
/// Pure value type. Formats the checker does not know in detail get `.opaque`: their buffer and
/// child counts are still compared with the schema, their contents are not read.
enum ArrowLayout: Equatable {
    case null
    case boolean
    /// Fixed-width values of `byteWidth` bytes.
    case fixed(byteWidth: Int)
    /// Variable-size binary or UTF-8 with 32- or 64-bit offsets.
    case variable(offsetWidth: Int, isUTF8: Bool)
    /// Binary or UTF-8 views (validity, views, variadic data buffers, their sizes).
    case view
    /// List with 32- or 64-bit offsets and one child.
    case list(offsetWidth: Int)
    /// Fixed-size list: one child holding `size` values per slot.
    case fixedList(size: Int)
    case structure
    /// A format the checker recognises but does not look into (maps, unions, run-end, list views).
    case opaque(buffers: Int, children: Int?, hasValidity: Bool)

    /// The layout of `format`; nil when the string is not an Arrow format at all.
    init?(format: String) {
        switch format {
        case "n": self = .null
        case "b": self = .boolean
        case "c", "C": self = .fixed(byteWidth: 1)
        case "s", "S", "e": self = .fixed(byteWidth: 2)
        case "i", "I", "f", "tdD", "tts", "ttm", "tiM": self = .fixed(byteWidth: 4)
        case "l", "L", "g", "tdm", "ttu", "ttn", "tDs", "tDm", "tDu", "tDn", "tiD": self = .fixed(byteWidth: 8)
        case "tin": self = .fixed(byteWidth: 16)
        case "z": self = .variable(offsetWidth: 4, isUTF8: false)
        case "u": self = .variable(offsetWidth: 4, isUTF8: true)
        case "Z": self = .variable(offsetWidth: 8, isUTF8: false)
        case "U": self = .variable(offsetWidth: 8, isUTF8: true)
        case "vz", "vu": self = .view
        case "+l": self = .list(offsetWidth: 4)
        case "+L": self = .list(offsetWidth: 8)
        case "+vl", "+vL": self = .opaque(buffers: 3, children: 1, hasValidity: true)
        case "+s": self = .structure
        case "+m": self = .opaque(buffers: 2, children: 1, hasValidity: true)
        case "+r": self = .opaque(buffers: 0, children: 2, hasValidity: false)
        default:
            if let width = Self.suffixNumber(format, after: "w:") {
                self = .fixed(byteWidth: width)
            } else if let size = Self.suffixNumber(format, after: "+w:") {
                self = .fixedList(size: size)
            } else if format.hasPrefix("d:") {
                // d:precision,scale[,bitWidth]; the width defaults to 128 bits.
                let parts = format.dropFirst(2).split(separator: ",", omittingEmptySubsequences: false)
                guard parts.count == 2 || parts.count == 3, parts.allSatisfy({ Int($0) != nil }) else { return nil }
                let bits = parts.count == 3 ? Int(parts[2])! : 128
                guard [32, 64, 128, 256].contains(bits) else { return nil }
                self = .fixed(byteWidth: bits / 8)
            } else if format.count >= 4, format.hasPrefix("ts"), "smun".contains(format[format.index(format.startIndex, offsetBy: 2)]),
                      format[format.index(format.startIndex, offsetBy: 3)] == ":" {
                self = .fixed(byteWidth: 8)
            } else if format.hasPrefix("+ud:") {
                self = .opaque(buffers: 2, children: nil, hasValidity: false)
            } else if format.hasPrefix("+us:") {
                self = .opaque(buffers: 1, children: nil, hasValidity: false)
            } else {
                return nil
            }
        }
    }

    /// The number of buffers an array of this layout has; nil when it varies (views).
    var bufferCount: Int? {
        switch self {
        case .null: return 0
        case .boolean, .fixed, .list: return 2
        case .variable: return 3
        case .view: return nil
        case .fixedList, .structure: return 1
        case .opaque(let buffers, _, _): return buffers
        }
    }

    /// The number of children; nil when the schema decides (structs, unions).
    var childCount: Int? {
        switch self {
        case .null, .boolean, .fixed, .variable, .view: return 0
        case .list, .fixedList: return 1
        case .structure: return nil
        case .opaque(_, let children, _): return children
        }
    }

    /// Whether buffer 0 is a validity bitmap (every layout but null, unions and run-end).
    var hasValidityBitmap: Bool {
        switch self {
        case .null: return false
        case .opaque(_, _, let hasValidity): return hasValidity
        default: return true
        }
    }

    private static func suffixNumber(_ format: String, after prefix: String) -> Int? {
        guard format.hasPrefix(prefix), let n = Int(format.dropFirst(prefix.count)), n > 0 else { return nil }
        return n
    }
}
