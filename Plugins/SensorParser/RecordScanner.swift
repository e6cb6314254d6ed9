import Glibc

/// Reads one JSON message in a single pass over its bytes, straight into per-field slots:
/// no intermediate object, no allocation per message (string escapes go to a reused scratch
/// buffer). It validates as it goes: UTF-8 inside strings, the JSON grammar everywhere,
/// including the values it skips.
///
/// A failure is a reason of the form `category: detail`, where category is one of
/// `invalid_utf8`, `invalid_json`, `missing_field`, `null_value`, `wrong_type`, `out_of_range`.
///
/// Not thread-safe: one scanner per operator thread.
final class RecordScanner {
    let fields: [FieldSpec]
    private let paths: PathTable
    /// The type of each field, in a flat buffer: the hot loop reads it without reference counting.
    let types: UnsafeMutablePointer<FieldType>
    /// Whether a missing or null field is allowed (nullable or with a default).
    private let optional: UnsafeMutablePointer<Bool>
    /// The parsed value of each field for the current message.
    let slots: UnsafeMutablePointer<Slot>
    /// Unescaped string bytes of the current message: `scratchCount` of them at `scratch`, in
    /// a buffer that only grows. Raw memory, not an array: unescaping writes it a byte at a
    /// time, and an array checked its capacity and uniqueness at each.
    private(set) var scratch: UnsafeMutablePointer<UInt8>
    private var scratchCount = 0
    private var scratchCapacity = 4096
    private static let maximumDepth = 64

    struct Slot {
        enum State: UInt8 { case missing, null, value }
        var state: State = .missing
        var int: Int64 = 0
        var uint: UInt64 = 0
        var double: Double = 0
        var bool = false
        /// String value: bytes [start, start+length) of the payload, or of `scratch`.
        var start = 0
        var length = 0
        var inScratch = false
    }

    init(fields: [FieldSpec]) throws {
        self.fields = fields
        paths = PathTable(try PathNode.build(fields))
        types = .allocate(capacity: fields.count)
        types.initialize(from: fields.map(\.type), count: fields.count)
        optional = .allocate(capacity: fields.count)
        optional.initialize(from: fields.map { $0.nullable || $0.defaultValue != nil }, count: fields.count)
        slots = .allocate(capacity: fields.count)
        slots.initialize(repeating: Slot(), count: fields.count)
        scratch = .allocate(capacity: scratchCapacity)
    }

    deinit {
        types.deallocate()
        optional.deallocate()
        slots.deallocate()
        scratch.deallocate()
    }

    // MARK: - Messages

    /// Parses one message; nil on success (the slots hold the row), else the reason.
    func scan(_ message: UnsafeRawBufferPointer) -> String? {
        for i in 0..<fields.count { slots[i].state = .missing }
        scratchCount = 0
        guard let base = message.baseAddress, message.count > 0 else { return "invalid_json: the message is empty" }
        var c = Cursor(base: base.assumingMemoryBound(to: UInt8.self), end: message.count)
        c.skipWhitespace()
        guard c.more, c.peek == UInt8(ascii: "{") else {
            if c.more && c.peek >= 0x80 && !c.validUTF8From(c.i) { return "invalid_utf8: byte \(c.i) is not valid UTF-8" }
            return c.more ? "invalid_json: expected an object at byte \(c.i)" : "invalid_json: the message is only whitespace"
        }
        if let failure = parseObject(&c, node: PathTable.root, depth: 1) { return failure }
        c.skipWhitespace()
        if c.more { return "invalid_json: unexpected data after the object at byte \(c.i)" }
        return checkMissing()
    }

    /// Missing and null fields: default, null, or the reason the message is rejected.
    private func checkMissing() -> String? {
        for i in 0..<fields.count where slots[i].state != .value && !optional[i] {
            let field = fields[i]
            let path = field.path.joined(separator: ".")
            return slots[i].state == .missing ? "missing_field: '\(path)' is required" : "null_value: '\(path)' is null but required"
        }
        return nil
    }

    // MARK: - Grammar

    /// Parses an object at `c`; `node` is its place in the path table (`PathTable.none` when no
    /// wanted field lies below it).
    private func parseObject(_ c: inout Cursor, node: Int32, depth: Int) -> String? {
        guard depth <= RecordScanner.maximumDepth else { return "invalid_json: nested deeper than \(RecordScanner.maximumDepth) levels" }
        c.i += 1  // '{'
        c.skipWhitespace()
        if c.more && c.peek == UInt8(ascii: "}") { c.i += 1; return nil }
        while true {
            guard c.more, c.peek == UInt8(ascii: "\"") else { return c.expected("a key") }
            // The key: most often a wanted one, matched in place with its closing quote (the
            // one expected next first); else scanned, and looked up if it might still be one.
            let keyStart = c.i + 1
            var child = PathTable.none
            if node != PathTable.none, let (found, length) = paths.lookupInPlace(node, c.base + keyStart, c.end - keyStart) {
                child = found
                c.i = keyStart + length + 1
            } else if let failure = scanKey(&c, node: node, keyStart: keyStart, child: &child) {
                return failure
            }
            c.skipWhitespace()
            guard c.more, c.peek == UInt8(ascii: ":") else { return c.expected("':'") }
            c.i += 1
            c.skipWhitespace()
            guard c.more else { return c.expected("a value") }
            if child != PathTable.none, let index = paths.fieldIndex(child) {
                if let failure = readField(&c, index) { return failure }
            } else if child != PathTable.none, paths.isObject(child), c.peek == UInt8(ascii: "{") {
                if let failure = parseObject(&c, node: child, depth: depth + 1) { return failure }
            } else {
                if let failure = skipValue(&c, depth: depth + 1) { return failure }
            }
            c.skipWhitespace()
            guard c.more else { return c.expected("',' or '}'") }
            if c.peek == UInt8(ascii: ",") {
                c.i += 1
                c.skipWhitespace()
                continue
            }
            if c.peek == UInt8(ascii: "}") { c.i += 1; return nil }
            return c.expected("',' or '}'")
        }
    }

    /// Scans the key starting at its opening quote, which `lookupInPlace` did not find, and looks
    /// it up under `node` when it may still be wanted: it has escapes, or a wanted key there is
    /// not plain (`child` stays `none` otherwise).
    @inline(__always)
    private func scanKey(_ c: inout Cursor, node: Int32, keyStart: Int, child: inout Int32) -> String? {
        var escaped = false
        if let failure = c.skipString(escaped: &escaped) { return failure }
        guard node != PathTable.none, escaped || !paths.hasOnlyPlainKeys(node) else { return nil }
        if escaped {
            let mark = scratchCount
            unescape(&c, from: keyStart)
            child = paths.lookup(node, scratch + mark, scratchCount - mark)
            scratchCount = mark
        } else {
            child = paths.lookup(node, c.base + keyStart, c.i - 1 - keyStart)
        }
        return nil
    }

    private func skipValue(_ c: inout Cursor, depth: Int) -> String? {
        switch c.peek {
        case UInt8(ascii: "\""):
            var escaped = false
            return c.skipString(escaped: &escaped)
        case UInt8(ascii: "{"):
            return parseObject(&c, node: PathTable.none, depth: depth)
        case UInt8(ascii: "["):
            guard depth <= RecordScanner.maximumDepth else { return "invalid_json: nested deeper than \(RecordScanner.maximumDepth) levels" }
            c.i += 1
            c.skipWhitespace()
            if c.more && c.peek == UInt8(ascii: "]") { c.i += 1; return nil }
            while true {
                guard c.more else { return c.expected("a value") }
                if let failure = skipValue(&c, depth: depth + 1) { return failure }
                c.skipWhitespace()
                guard c.more else { return c.expected("',' or ']'") }
                if c.peek == UInt8(ascii: ",") { c.i += 1; c.skipWhitespace(); continue }
                if c.peek == UInt8(ascii: "]") { c.i += 1; return nil }
                return c.expected("',' or ']'")
            }
        case UInt8(ascii: "t"): return c.literal("true")
        case UInt8(ascii: "f"): return c.literal("false")
        case UInt8(ascii: "n"): return c.literal("null")
        default:
            var number = NumberToken()
            return c.scanNumber(&number)
        }
    }

    // MARK: - Fields

    private func readField(_ c: inout Cursor, _ index: Int) -> String? {
        let type = types[index]
        let first = c.peek
        if first == UInt8(ascii: "n") {
            if let failure = c.literal("null") { return failure }
            slots[index].state = .null
            return nil
        }
        switch type {
        case .string:
            guard first == UInt8(ascii: "\"") else { return wrongType(fields[index], expected: "a string", &c) }
            return readString(&c, index)
        case .bool:
            if first == UInt8(ascii: "t") { if let f = c.literal("true") { return f }; slots[index].bool = true }
            else if first == UInt8(ascii: "f") { if let f = c.literal("false") { return f }; slots[index].bool = false }
            else { return wrongType(fields[index], expected: "true or false", &c) }
            slots[index].state = .value
            return nil
        case .int, .uint:
            guard first == UInt8(ascii: "-") || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) else {
                return wrongType(fields[index], expected: "an integer", &c)
            }
            var number = NumberToken()
            if let failure = c.scanNumber(&number) { return failure }
            return storeInteger(number, type, index, c)
        case .float32, .float64:
            guard first == UInt8(ascii: "-") || (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) else {
                return wrongType(fields[index], expected: "a number", &c)
            }
            var number = NumberToken()
            if let failure = c.scanNumber(&number) { return failure }
            let value = number.doubleValue(c.base)
            if type == .float32 && value.isFinite && abs(value) > Double(Float.greatestFiniteMagnitude) {
                return "out_of_range: '\(pathText(fields[index]))' = \(number.text(c.base)) does not fit float32"
            }
            if !value.isFinite { return "out_of_range: '\(pathText(fields[index]))' = \(number.text(c.base)) is not a finite number" }
            slots[index].double = value
            slots[index].state = .value
            return nil
        case .timestamp(let unit):
            return readTimestamp(&c, index, unit)
        }
    }

    private func readString(_ c: inout Cursor, _ index: Int) -> String? {
        let start = c.i + 1
        var escaped = false
        if let failure = c.skipString(escaped: &escaped) { return failure }
        if escaped {
            let mark = scratchCount
            unescape(&c, from: start)
            slots[index].start = mark
            slots[index].length = scratchCount - mark
            slots[index].inScratch = true
        } else {
            slots[index].start = start
            slots[index].length = c.i - 1 - start
            slots[index].inScratch = false
        }
        slots[index].state = .value
        return nil
    }

    private func storeInteger(_ number: NumberToken, _ type: FieldType, _ index: Int, _ c: Cursor) -> String? {
        guard number.isInteger else {
            return "wrong_type: '\(pathText(fields[index]))' must be an integer, got \(number.text(c.base))"
        }
        let range = type.integerRange!
        guard !number.overflow else { return "out_of_range: '\(pathText(fields[index]))' = \(number.text(c.base)) does not fit \(type.label)" }
        if number.negative {
            // The magnitude may be up to 2^63 for Int64.min.
            guard number.mantissa <= UInt64(bitPattern: Int64.min), range.min < 0 else {
                return "out_of_range: '\(pathText(fields[index]))' = \(number.text(c.base)) does not fit \(type.label)"
            }
            let value = number.mantissa == UInt64(bitPattern: Int64.min) ? Int64.min : -Int64(number.mantissa)
            guard value >= range.min else { return "out_of_range: '\(pathText(fields[index]))' = \(number.text(c.base)) does not fit \(type.label)" }
            slots[index].int = value
        } else {
            guard number.mantissa <= range.max else { return "out_of_range: '\(pathText(fields[index]))' = \(number.text(c.base)) does not fit \(type.label)" }
            slots[index].uint = number.mantissa
            slots[index].int = Int64(bitPattern: number.mantissa)
        }
        slots[index].state = .value
        return nil
    }

    private func readTimestamp(_ c: inout Cursor, _ index: Int, _ unit: FieldType.TimestampUnit) -> String? {
        if c.peek == UInt8(ascii: "\"") {
            if let failure = readString(&c, index) { return failure }
            let slot = slots[index]
            let parsed: Int64? = slot.inScratch
                ? ISO8601.milliseconds(scratch + slot.start, slot.length)
                : ISO8601.milliseconds(c.base + slot.start, slot.length)
            guard let ms = parsed else {
                return "wrong_type: '\(pathText(fields[index]))' must be an ISO-8601 time such as 2025-11-26T10:00:00.123Z"
            }
            switch unit {
            case .s: slots[index].int = ms / 1000 - (ms % 1000 < 0 ? 1 : 0)
            case .us: slots[index].int = ms * 1000
            default: slots[index].int = ms
            }
            return nil
        }
        guard unit != .iso8601 else { return wrongType(fields[index], expected: "an ISO-8601 string", &c) }
        guard c.peek == UInt8(ascii: "-") || (c.peek >= UInt8(ascii: "0") && c.peek <= UInt8(ascii: "9")) else {
            return wrongType(fields[index], expected: "a number of \(unit.rawValue) since the epoch", &c)
        }
        var number = NumberToken()
        if let failure = c.scanNumber(&number) { return failure }
        if number.isInteger && !number.overflow && number.mantissa <= UInt64(Int64.max) {
            slots[index].int = number.negative ? -Int64(number.mantissa) : Int64(number.mantissa)
        } else {
            let value = number.doubleValue(c.base)
            guard value.isFinite, abs(value) < 9.2e18 else { return "out_of_range: '\(pathText(fields[index]))' = \(number.text(c.base)) is not a valid time" }
            slots[index].int = Int64(value.rounded(.down))
        }
        slots[index].state = .value
        return nil
    }

    private func wrongType(_ field: FieldSpec, expected: String, _ c: inout Cursor) -> String {
        let found: String
        switch c.peek {
        case UInt8(ascii: "\""): found = "a string"
        case UInt8(ascii: "{"): found = "an object"
        case UInt8(ascii: "["): found = "an array"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): found = "a boolean"
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): found = "a number"
        default: return c.expected("a value")
        }
        // Skip it anyway so a later grammar error is not reported as a type error.
        if let failure = skipValue(&c, depth: 2) { return failure }
        return "wrong_type: '\(pathText(field))' must be \(expected), got \(found)"
    }

    private func pathText(_ field: FieldSpec) -> String { field.path.joined(separator: ".") }

    // MARK: - Escapes

    /// Writes `scalar` encoded as UTF-8 at `out` and moves `out` past it; a lone surrogate,
    /// which UTF-8 cannot hold, becomes U+FFFD.
    @inline(__always)
    private func writeUTF8(_ scalar: UInt32, _ out: inout UnsafeMutablePointer<UInt8>) {
        let v = scalar >= 0xD800 && scalar < 0xE000 ? 0xFFFD : scalar
        if v < 0x80 {
            out[0] = UInt8(v)
            out += 1
        } else if v < 0x800 {
            out[0] = UInt8(0xC0 | v >> 6)
            out[1] = UInt8(0x80 | v & 0x3F)
            out += 2
        } else if v < 0x10000 {
            out[0] = UInt8(0xE0 | v >> 12)
            out[1] = UInt8(0x80 | v >> 6 & 0x3F)
            out[2] = UInt8(0x80 | v & 0x3F)
            out += 3
        } else {
            out[0] = UInt8(0xF0 | v >> 18)
            out[1] = UInt8(0x80 | v >> 12 & 0x3F)
            out[2] = UInt8(0x80 | v >> 6 & 0x3F)
            out[3] = UInt8(0x80 | v & 0x3F)
            out += 4
        }
    }

    /// Appends the unescaped content of the string that starts at `start` (after its quote)
    /// and ends before `c.i - 1` to the scratch bytes. The string was already validated.
    /// Unescaping never lengthens a string (the longest result, four bytes, comes from a
    /// twelve-byte surrogate pair), so room for the escaped length is room enough.
    private func unescape(_ c: inout Cursor, from start: Int) {
        var i = start
        let end = c.i - 1
        if scratchCount + (end - start) > scratchCapacity {
            let grown = UnsafeMutablePointer<UInt8>.allocate(capacity: max(scratchCapacity * 2, scratchCount + end - start))
            grown.update(from: scratch, count: scratchCount)
            scratch.deallocate()
            scratch = grown
            scratchCapacity = max(scratchCapacity * 2, scratchCount + end - start)
        }
        var out = scratch + scratchCount
        while i < end {
            let byte = c.base[i]
            if byte != UInt8(ascii: "\\") { out[0] = byte; out += 1; i += 1; continue }
            let e = c.base[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "n"): out[0] = 0x0A; out += 1
            case UInt8(ascii: "t"): out[0] = 0x09; out += 1
            case UInt8(ascii: "r"): out[0] = 0x0D; out += 1
            case UInt8(ascii: "b"): out[0] = 0x08; out += 1
            case UInt8(ascii: "f"): out[0] = 0x0C; out += 1
            case UInt8(ascii: "u"):
                var scalar = UInt32(Cursor.hex4(c.base + i))
                i += 4
                if scalar >= 0xD800 && scalar < 0xDC00, i + 6 <= end, c.base[i] == UInt8(ascii: "\\"), c.base[i + 1] == UInt8(ascii: "u") {
                    let low = UInt32(Cursor.hex4(c.base + i + 2))
                    if low >= 0xDC00 && low < 0xE000 {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                    }
                }
                writeUTF8(scalar, &out)
            default: out[0] = e; out += 1  // \" \\ \/
            }
        }
        scratchCount = out - scratch
    }
}

// MARK: - Cursor

/// A position in the message bytes, with the lexical steps of the grammar.
struct Cursor {
    let base: UnsafePointer<UInt8>
    let end: Int
    var i = 0

    init(base: UnsafePointer<UInt8>, end: Int) {
        self.base = base
        self.end = end
    }

    @inline(__always) var more: Bool { i < end }
    @inline(__always) var peek: UInt8 { base[i] }

    @inline(__always)
    mutating func skipWhitespace() {
        while i < end {
            let b = base[i]
            guard b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 else { return }
            i += 1
        }
    }

    func expected(_ what: String) -> String {
        if i >= end { return "invalid_json: the message ends where \(what) was expected" }
        if base[i] >= 0x80 && !validUTF8From(i) { return "invalid_utf8: byte \(i) is not valid UTF-8" }
        return "invalid_json: expected \(what) at byte \(i)"
    }

    mutating func literal(_ word: StaticString) -> String? {
        let n = word.utf8CodeUnitCount
        guard i + n <= end, memcmp(base + i, word.utf8Start, n) == 0 else { return expected("a value") }
        i += n
        return nil
    }

    /// Skips a string starting at its opening quote, checking escapes, control characters and
    /// UTF-8. Leaves `i` after the closing quote.
    @inline(__always)
    mutating func skipString(escaped: inout Bool) -> String? {
        i += 1
        while i < end {
            // Eight plain bytes at a time: none is a quote, a backslash, a control character or
            // part of a multi-byte sequence. At the first word that holds one, go straight to
            // it: each test marks the first such byte exactly (a false mark can only follow a
            // true one), so the lowest mark is the first special byte (little-endian load).
            while i + 8 <= end {
                let v = UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self)
                let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
                let quote = v ^ (ones &* 0x22), backslash = v ^ (ones &* 0x5C)
                let special = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((v &- ones &* 0x20) & ~v) | v
                let marks = special & highs
                if marks != 0 {
                    i += marks.trailingZeroBitCount >> 3
                    break
                }
                i += 8
            }
            guard i < end else { break }
            let b = base[i]
            if b == UInt8(ascii: "\"") { i += 1; return nil }
            if b == UInt8(ascii: "\\") {
                escaped = true
                guard i + 1 < end else { break }
                switch base[i + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    i += 2
                case UInt8(ascii: "u"):
                    guard i + 6 <= end, Cursor.isHex4(base + i + 2) else { return "invalid_json: bad \\u escape at byte \(i)" }
                    i += 6
                default:
                    return "invalid_json: bad escape at byte \(i)"
                }
                continue
            }
            if b < 0x20 { return "invalid_json: control character in a string at byte \(i)" }
            if b >= 0x80 {
                let n = utf8SequenceLength(at: i)
                if n == 0 { return "invalid_utf8: byte \(i) is not valid UTF-8" }
                i += n
                continue
            }
            i += 1
        }
        return "invalid_json: unterminated string"
    }

    func validUTF8From(_ position: Int) -> Bool { utf8SequenceLength(at: position) > 0 }

    /// The length of the well-formed UTF-8 sequence at `p` (per RFC 3629: no overlongs, no
    /// surrogates, nothing above U+10FFFF), or 0.
    @inline(__always)
    func utf8SequenceLength(at p: Int) -> Int {
        let b0 = base[p]
        @inline(__always) func cont(_ k: Int) -> Bool { p + k < end && base[p + k] & 0xC0 == 0x80 }
        switch b0 {
        case 0xC2...0xDF:
            return cont(1) ? 2 : 0
        case 0xE0:
            return p + 1 < end && base[p + 1] >= 0xA0 && base[p + 1] <= 0xBF && cont(2) ? 3 : 0
        case 0xE1...0xEC, 0xEE...0xEF:
            return cont(1) && cont(2) ? 3 : 0
        case 0xED:
            return p + 1 < end && base[p + 1] >= 0x80 && base[p + 1] <= 0x9F && cont(2) ? 3 : 0
        case 0xF0:
            return p + 1 < end && base[p + 1] >= 0x90 && base[p + 1] <= 0xBF && cont(2) && cont(3) ? 4 : 0
        case 0xF1...0xF3:
            return cont(1) && cont(2) && cont(3) ? 4 : 0
        case 0xF4:
            return p + 1 < end && base[p + 1] >= 0x80 && base[p + 1] <= 0x8F && cont(2) && cont(3) ? 4 : 0
        default:
            return 0
        }
    }

    @inline(__always)
    static func isHex4(_ p: UnsafePointer<UInt8>) -> Bool {
        hexValue(p[0]) != nil && hexValue(p[1]) != nil && hexValue(p[2]) != nil && hexValue(p[3]) != nil
    }

    /// The value of four hex digits already checked by `isHex4`: a digit's low four bits, plus
    /// nine for a letter (bit 6 set in `a`-`f` and `A`-`F`, clear in `0`-`9`).
    @inline(__always)
    static func hex4(_ p: UnsafePointer<UInt8>) -> UInt16 {
        var value: UInt16 = 0
        for k in 0..<4 { value = value << 4 | UInt16(p[k] & 0x0F) + UInt16(p[k] >> 6) * 9 }
        return value
    }

    @inline(__always)
    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return b - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return b - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return b - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    /// Scans a JSON number (RFC 8259 grammar) and records its parts.
    @inline(__always)
    mutating func scanNumber(_ n: inout NumberToken) -> String? {
        n.start = i
        if i < end && base[i] == UInt8(ascii: "-") { n.negative = true; i += 1 }
        guard i < end, base[i] >= UInt8(ascii: "0"), base[i] <= UInt8(ascii: "9") else { return expected("a digit") }
        if base[i] == UInt8(ascii: "0") {
            i += 1
        } else {
            scanDigits(&n, fraction: false)
        }
        if i < end && base[i] == UInt8(ascii: ".") {
            n.isInteger = false
            i += 1
            guard i < end, base[i] >= UInt8(ascii: "0"), base[i] <= UInt8(ascii: "9") else { return expected("a digit after '.'") }
            scanDigits(&n, fraction: true)
        }
        if i < end && (base[i] == UInt8(ascii: "e") || base[i] == UInt8(ascii: "E")) {
            n.isInteger = false
            i += 1
            var negativeExponent = false
            if i < end && (base[i] == UInt8(ascii: "+") || base[i] == UInt8(ascii: "-")) {
                negativeExponent = base[i] == UInt8(ascii: "-")
                i += 1
            }
            guard i < end, base[i] >= UInt8(ascii: "0"), base[i] <= UInt8(ascii: "9") else { return expected("a digit in the exponent") }
            var exponent = 0
            while i < end, base[i] >= UInt8(ascii: "0"), base[i] <= UInt8(ascii: "9") {
                if exponent < 100_000 { exponent = exponent * 10 + Int(base[i] - UInt8(ascii: "0")) }
                i += 1
            }
            n.exponent = negativeExponent ? -exponent : exponent
        }
        n.end = i
        return nil
    }
}

extension Cursor {
    /// Reads a run of digits into `n`'s mantissa. While the number has at most 19 digits in
    /// all it cannot overflow 64 bits, so the run is read without overflow checks; a longer
    /// number reads the run again, checked: the mantissa keeps the digits that fit and
    /// `overflow` is set.
    @inline(__always)
    mutating func scanDigits(_ n: inout NumberToken, fraction: Bool) {
        let start = i
        var mantissa = n.mantissa
        while i < end, base[i] &- UInt8(ascii: "0") < 10 {
            mantissa = mantissa &* 10 &+ UInt64(base[i] &- UInt8(ascii: "0"))
            i += 1
        }
        let run = i - start
        if !n.overflow && n.digits + run <= 19 {
            n.mantissa = mantissa
            n.digits += run
            if fraction { n.fractionDigits += run }
            return
        }
        i = start
        while i < end, base[i] &- UInt8(ascii: "0") < 10 {
            let (times10, o1) = n.mantissa.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(base[i] &- UInt8(ascii: "0")))
            if o1 || o2 {
                n.overflow = true
            } else if !n.overflow {
                n.mantissa = sum
                if fraction { n.fractionDigits += 1 }
            }
            n.digits += 1
            i += 1
        }
    }
}

/// The parts of a scanned number; converted only as far as the field's type needs.
struct NumberToken {
    var start = 0, end = 0
    var negative = false
    var mantissa: UInt64 = 0
    var digits = 0
    var fractionDigits = 0
    var exponent = 0
    var isInteger = true
    var overflow = false

    private static let powersOf10: [Double] = (0...22).map { pow(10, Double($0)) }

    /// Exact for the common case (at most 15 significant digits, small exponents: both
    /// factors are exact doubles, so one multiplication or division rounds once); otherwise
    /// strtod on a copy.
    func doubleValue(_ base: UnsafePointer<UInt8>) -> Double {
        let scale = exponent - fractionDigits
        if !overflow && digits <= 15 && scale >= -22 && scale <= 22 {
            var value = Double(mantissa)
            value = scale < 0 ? value / NumberToken.powersOf10[-scale] : value * NumberToken.powersOf10[scale]
            return negative ? -value : value
        }
        var copy = [CChar](repeating: 0, count: end - start + 1)
        for k in 0..<(end - start) { copy[k] = CChar(bitPattern: base[start + k]) }
        return strtod(copy, nil)
    }

    func text(_ base: UnsafePointer<UInt8>) -> String {
        String(decoding: UnsafeBufferPointer(start: base + start, count: min(end - start, 40)), as: UTF8.self)
    }
}
