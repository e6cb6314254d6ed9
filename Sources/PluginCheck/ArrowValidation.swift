import PluginABI

/// Checks a batch against the Arrow C Data Interface specification, not against sluice's own
/// habits: a plugin built on Apache Arrow C++ or arrow-rs exports batches that sluice never
/// produces itself (NULL validity buffers, metadata, 64-bit offsets, dictionaries), and they
/// must pass when they are right.
///
/// Every buffer the layout implies is probed for readability over the bytes the offsets and
/// lengths say it holds (a buffer's size is not part of the interface, so that is the bound
/// the checker can test). Pure apart from those probes; reads only.
public enum ArrowValidation {
    /// Every way the schema tree breaks the specification. `path` names the root in messages.
    public static func schemaProblems(_ schema: UnsafePointer<ArrowSchema>, path: String = "schema") -> [String] {
        var problems: [String] = []
        checkSchema(schema, path: path, depth: 0, into: &problems)
        return problems
    }

    /// Every way a batch (a "+s" schema and its struct array) breaks the specification or the
    /// ABI's rule that a batch is a struct of uniquely named columns.
    public static func batchProblems(schema: UnsafePointer<ArrowSchema>, array: UnsafePointer<ArrowArray>) -> [String] {
        var problems = schemaProblems(schema, path: "schema")
        guard problems.isEmpty else { return problems }
        let s = schema.pointee
        let format = String(cString: s.format)
        guard format == "+s" else {
            return ["a batch must be a struct (format \"+s\") whose children are the columns; its format is \"\(format)\""]
        }
        var names = Set<String>()
        for i in 0..<Int(s.n_children) {
            let child = s.children![i]!.pointee
            let name = child.name.map { String(cString: $0) } ?? ""
            if name.isEmpty { problems.append("column \(i) has no name; the host finds columns by name") }
            else if !names.insert(name).inserted { problems.append("two columns are named '\(name)'; the host finds columns by name") }
        }
        checkArray(array, schema: schema, path: "batch", minimumLength: nil, depth: 0, into: &problems)
        return problems
    }

    // MARK: - Schemas

    private static func checkSchema(_ schema: UnsafePointer<ArrowSchema>, path: String, depth: Int, into problems: inout [String]) {
        let s = schema.pointee
        guard depth < 64 else { problems.append("\(path): nested more than 64 levels deep"); return }
        guard s.release != nil else { problems.append("\(path): released (its release callback is NULL)"); return }
        guard let formatPointer = s.format else { problems.append("\(path): format is NULL"); return }
        let format = String(cString: formatPointer)
        guard let layout = ArrowLayout(format: format) else {
            problems.append("\(path): \"\(format)\" is not an Arrow format string")
            return
        }
        let knownFlags = Int64(ARROW_FLAG_DICTIONARY_ORDERED | ARROW_FLAG_NULLABLE | ARROW_FLAG_MAP_KEYS_SORTED)
        if s.flags & ~knownFlags != 0 { problems.append("\(path): flags \(s.flags) has bits the specification does not define") }
        if let metadata = s.metadata, let problem = metadataProblem(metadata) { problems.append("\(path): metadata \(problem)") }
        guard s.n_children >= 0 else { problems.append("\(path): n_children is \(s.n_children)"); return }
        if let expected = layout.childCount, expected != Int(s.n_children) {
            problems.append("\(path): format \"\(format)\" has \(expected) children, the schema declares \(s.n_children)")
        }
        if s.n_children > 0 && s.children == nil { problems.append("\(path): n_children is \(s.n_children) but children is NULL"); return }
        for i in 0..<Int(s.n_children) {
            guard let child = s.children![i] else { problems.append("\(path).children[\(i)] is NULL"); continue }
            let name = child.pointee.name.map { String(cString: $0) } ?? "#\(i)"
            checkSchema(child, path: "\(path).\(name)", depth: depth + 1, into: &problems)
        }
        if let dictionary = s.dictionary {
            if !["c", "C", "s", "S", "i", "I", "l", "L"].contains(format) {
                problems.append("\(path): a dictionary-encoded field needs an integer index format, not \"\(format)\"")
            }
            checkSchema(dictionary, path: "\(path).dictionary", depth: depth + 1, into: &problems)
        }
    }

    /// The metadata encoding: int32 count, then per pair int32 length + bytes, twice.
    private static func metadataProblem(_ metadata: UnsafePointer<CChar>) -> String? {
        let raw = UnsafeRawPointer(metadata)
        guard MemoryProbe.isReadable(raw, count: 4) else { return "is not readable" }
        let count = raw.loadUnaligned(as: Int32.self)
        guard count >= 0, count < 1 << 16 else { return "declares \(count) entries" }
        var offset = 4
        for _ in 0..<(Int(count) * 2) {
            guard MemoryProbe.isReadable(raw + offset, count: 4) else { return "is truncated" }
            let length = raw.loadUnaligned(fromByteOffset: offset, as: Int32.self)
            guard length >= 0, length < 1 << 24 else { return "has an entry of length \(length)" }
            offset += 4 + Int(length)
            guard MemoryProbe.isReadable(raw, count: offset) else { return "is truncated" }
        }
        return nil
    }

    // MARK: - Arrays

    /// `minimumLength`: what the parent needs of this child (a struct's offset + length).
    private static func checkArray(_ array: UnsafePointer<ArrowArray>, schema: UnsafePointer<ArrowSchema>, path: String,
                                   minimumLength: Int?, depth: Int, into problems: inout [String]) {
        let a = array.pointee, s = schema.pointee
        let format = String(cString: s.format)
        guard let layout = ArrowLayout(format: format) else { return }  // reported with the schema
        guard a.release != nil else { problems.append("\(path): released (its release callback is NULL)"); return }
        guard a.length >= 0, a.offset >= 0 else { problems.append("\(path): length \(a.length) and offset \(a.offset) must not be negative"); return }
        let length = Int(a.length), offset = Int(a.offset)
        if let minimumLength, offset + length < minimumLength {
            problems.append("\(path): offset \(offset) + length \(length) is shorter than the \(minimumLength) rows its parent needs")
        }
        if a.null_count < -1 || a.null_count > a.length {
            problems.append("\(path): null_count \(a.null_count) is outside -1...\(a.length)")
        }
        if a.n_children != s.n_children {
            problems.append("\(path): the array has \(a.n_children) children, its schema \(s.n_children)")
            return
        }
        if (a.dictionary == nil) != (s.dictionary == nil) {
            problems.append(a.dictionary == nil ? "\(path): the schema is dictionary-encoded but the array has no dictionary"
                                                : "\(path): the array has a dictionary its schema does not declare")
        }
        // A dictionary-encoded array's format is its index type, so `layout` is the indices'.
        let dictionaryEncoded = s.dictionary != nil
        if let expected = layout.bufferCount, Int(a.n_buffers) != expected {
            problems.append("\(path): format \"\(format)\" has \(expected) buffers, the array has \(a.n_buffers)")
            return
        }
        if case .view = layout, a.n_buffers < 3 {
            problems.append("\(path): a view array has at least 3 buffers, this one \(a.n_buffers)")
            return
        }
        if a.n_buffers > 0 && a.buffers == nil { problems.append("\(path): n_buffers is \(a.n_buffers) but buffers is NULL"); return }
        let buffers = a.buffers

        // Validity: may be NULL only when there are no nulls.
        if layout.hasValidityBitmap {
            if let bitmap = buffers![0] {
                let bytes = (offset + length + 7) / 8
                if !MemoryProbe.isReadable(bitmap, count: bytes) {
                    problems.append("\(path): the validity bitmap is not readable over its \(bytes) bytes")
                } else if a.null_count >= 0 {
                    let nulls = countZeroBits(bitmap.assumingMemoryBound(to: UInt8.self), from: offset, count: length)
                    if nulls != Int(a.null_count) {
                        problems.append("\(path): null_count is \(a.null_count) but the validity bitmap has \(nulls) nulls")
                    }
                }
            } else if a.null_count != 0 && length > 0 {
                problems.append("\(path): null_count is \(a.null_count) but there is no validity bitmap (buffer 0 may be NULL only when null_count is 0)")
            }
        }

        switch layout {
        case .boolean:
            requireReadable(buffers![1], bytes: (offset + length + 7) / 8, what: "value bitmap", path: path, length: length, into: &problems)
        case .fixed(let width):
            requireReadable(buffers![1], bytes: (offset + length) * width, what: "value buffer", path: path, length: length, into: &problems)
        case .variable(let offsetWidth, let isUTF8):
            checkVariable(buffers!, offsetWidth: offsetWidth, isUTF8: isUTF8, offset: offset, length: length,
                          validity: buffers![0], path: path, into: &problems)
        case .list(let offsetWidth):
            if let (_, last) = checkOffsets(buffers![1], width: offsetWidth, offset: offset, length: length, path: path, into: &problems) {
                checkArray(a.children![0]!, schema: s.children![0]!, path: "\(path).item", minimumLength: last, depth: depth + 1, into: &problems)
            }
        case .fixedList(let size):
            checkArray(a.children![0]!, schema: s.children![0]!, path: "\(path).item", minimumLength: (offset + length) * size, depth: depth + 1, into: &problems)
        case .structure:
            for i in 0..<Int(a.n_children) {
                guard let childArray = a.children?[i] else { problems.append("\(path).children[\(i)] is NULL"); continue }
                let childSchema = s.children![i]!
                let name = childSchema.pointee.name.map { String(cString: $0) } ?? "#\(i)"
                checkArray(childArray, schema: childSchema, path: "\(path).\(name)", minimumLength: offset + length, depth: depth + 1, into: &problems)
            }
        case .null, .view, .opaque:
            break
        }
        if dictionaryEncoded, let dictionary = a.dictionary {
            checkArray(dictionary, schema: s.dictionary!, path: "\(path).dictionary", minimumLength: nil, depth: depth + 1, into: &problems)
        }
    }

    private static func requireReadable(_ buffer: UnsafeRawPointer?, bytes: Int, what: String, path: String, length: Int,
                                        into problems: inout [String]) {
        guard bytes > 0 else { return }
        guard let buffer else {
            if length > 0 { problems.append("\(path): the \(what) is NULL") }
            return
        }
        if !MemoryProbe.isReadable(buffer, count: bytes) {
            problems.append("\(path): the \(what) is not readable over the \(bytes) bytes its length implies")
        }
    }

    /// Checks offsets `offset...offset+length`: readable, non-negative, non-decreasing. Returns
    /// the first and last, or nil after reporting a problem.
    private static func checkOffsets(_ buffer: UnsafeRawPointer?, width: Int, offset: Int, length: Int, path: String,
                                     into problems: inout [String]) -> (Int, Int)? {
        guard let buffer else {
            if length > 0 { problems.append("\(path): the offsets buffer is NULL") }
            return length > 0 ? nil : (0, 0)
        }
        let bytes = (offset + length + 1) * width
        guard MemoryProbe.isReadable(buffer, count: bytes) else {
            problems.append("\(path): the offsets buffer is not readable over the \(bytes) bytes its length implies")
            return nil
        }
        func value(_ i: Int) -> Int {
            width == 4 ? Int(buffer.loadUnaligned(fromByteOffset: i * 4, as: Int32.self))
                       : Int(buffer.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))
        }
        var previous = value(offset)
        if previous < 0 { problems.append("\(path): offset \(offset) is negative (\(previous))"); return nil }
        let first = previous
        for i in (offset + 1)..<(offset + length + 1) {
            let current = value(i)
            if current < previous {
                problems.append("\(path): offsets decrease at slot \(i - offset - 1) (\(previous) then \(current)); they must be monotonic")
                return nil
            }
            previous = current
        }
        return (first, previous)
    }

    private static func checkVariable(_ buffers: UnsafeMutablePointer<UnsafeRawPointer?>, offsetWidth: Int, isUTF8: Bool,
                                      offset: Int, length: Int, validity: UnsafeRawPointer?, path: String,
                                      into problems: inout [String]) {
        guard let (first, last) = checkOffsets(buffers[1], width: offsetWidth, offset: offset, length: length, path: path, into: &problems) else { return }
        guard last > first || last > 0 else { return }
        guard let data = buffers[2] else {
            problems.append("\(path): the data buffer is NULL but the offsets reach \(last)")
            return
        }
        guard MemoryProbe.isReadable(data, count: last) else {
            problems.append("\(path): the data buffer is not readable up to offset \(last); offsets must stay within it")
            return
        }
        guard isUTF8 else { return }
        let offsets = buffers[1]!
        let bitmap = validity?.assumingMemoryBound(to: UInt8.self)
        for row in 0..<length {
            let slot = offset + row
            if let bitmap, bitmap[slot >> 3] & (1 << UInt8(slot & 7)) == 0 { continue }
            let start = offsetWidth == 4 ? Int(offsets.loadUnaligned(fromByteOffset: slot * 4, as: Int32.self))
                                         : Int(offsets.loadUnaligned(fromByteOffset: slot * 8, as: Int64.self))
            let end = offsetWidth == 4 ? Int(offsets.loadUnaligned(fromByteOffset: (slot + 1) * 4, as: Int32.self))
                                       : Int(offsets.loadUnaligned(fromByteOffset: (slot + 1) * 8, as: Int64.self))
            let bytes = UnsafeRawBufferPointer(start: data + start, count: end - start)
            if !isValidUTF8(bytes) {
                problems.append("\(path): row \(row) is not valid UTF-8 (a \"u\" column holds UTF-8; use \"z\" for bytes)")
                return
            }
        }
    }

    static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    static func countZeroBits(_ bitmap: UnsafePointer<UInt8>, from start: Int, count: Int) -> Int {
        var zeros = 0
        for i in start..<(start + count) where bitmap[i >> 3] & (1 << UInt8(i & 7)) == 0 { zeros += 1 }
        return zeros
    }
}
