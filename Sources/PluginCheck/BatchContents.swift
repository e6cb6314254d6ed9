import PluginABI

/// The columns a schema declares, and a batch's logical contents: what the checker compares
/// with `output_schema` and across a restore.
struct DeclaredColumn: Equatable {
    var name: String
    var format: String
    var nullable: Bool

    /// The columns of a "+s" schema (assumed already validated).
    static func of(_ schema: UnsafePointer<ArrowSchema>) -> [DeclaredColumn] {
        let s = schema.pointee
        return (0..<Int(s.n_children)).map { i in
            let child = s.children![i]!.pointee
            return DeclaredColumn(name: child.name.map { String(cString: $0) } ?? "",
                                  format: String(cString: child.format),
                                  nullable: child.flags & Int64(ARROW_FLAG_NULLABLE) != 0)
        }
    }

    /// How a batch's columns differ from the declared ones.
    static func mismatches(declared: [DeclaredColumn], batch: [DeclaredColumn], nullCounts: [Int]) -> [String] {
        var problems: [String] = []
        if declared.map(\.name) != batch.map(\.name) {
            problems.append("the batch has columns [\(batch.map(\.name).joined(separator: ", "))] but output_schema declared [\(declared.map(\.name).joined(separator: ", "))]")
            return problems
        }
        for (i, (d, b)) in zip(declared, batch).enumerated() {
            if d.format != b.format { problems.append("column '\(d.name)' is \"\(b.format)\" but output_schema declared \"\(d.format)\"") }
            if !d.nullable && i < nullCounts.count && nullCounts[i] != 0 {
                problems.append("column '\(d.name)' holds nulls but output_schema declared it not nullable")
            }
        }
        return problems
    }
}

enum BatchContents {
    /// Null counts per column, counted from the bitmaps (null_count may be -1, "unknown").
    static func nullCounts(schema: UnsafePointer<ArrowSchema>, array: UnsafePointer<ArrowArray>) -> [Int] {
        let a = array.pointee
        return (0..<Int(a.n_children)).map { i in
            let child = a.children![i]!.pointee
            guard child.n_buffers > 0, let bitmap = child.buffers?[0] else { return 0 }
            let format = String(cString: schema.pointee.children![i]!.pointee.format)
            guard ArrowLayout(format: format)?.hasValidityBitmap == true else { return 0 }
            return ArrowValidation.countZeroBits(bitmap.assumingMemoryBound(to: UInt8.self),
                                                 from: Int(a.offset) + Int(child.offset), count: Int(a.length))
        }
    }

    /// Every row of every column as bytes (nulls as nil), for comparing two batches by value
    /// whatever their offsets and buffer layouts. Formats with children compare by length only.
    static func rows(schema: UnsafePointer<ArrowSchema>, array: UnsafePointer<ArrowArray>) -> [[[UInt8]?]] {
        let a = array.pointee
        return (0..<Int(a.n_children)).map { i in
            let child = a.children![i]!.pointee
            let format = String(cString: schema.pointee.children![i]!.pointee.format)
            let layout = ArrowLayout(format: format)
            let base = Int(a.offset) + Int(child.offset)
            let bitmap = layout?.hasValidityBitmap == true && child.n_buffers > 0 ? child.buffers?[0]?.assumingMemoryBound(to: UInt8.self) : nil
            return (0..<Int(a.length)).map { row -> [UInt8]? in
                let slot = base + row
                if let bitmap, bitmap[slot >> 3] & (1 << UInt8(slot & 7)) == 0 { return nil }
                switch layout {
                case .boolean?:
                    let bits = child.buffers![1]!.assumingMemoryBound(to: UInt8.self)
                    return [bits[slot >> 3] >> UInt8(slot & 7) & 1]
                case .fixed(let width)?:
                    return Array(UnsafeRawBufferPointer(start: child.buffers![1]! + slot * width, count: width))
                case .variable(let offsetWidth, _)?:
                    let offsets = child.buffers![1]!
                    let start = offsetWidth == 4 ? Int(offsets.loadUnaligned(fromByteOffset: slot * 4, as: Int32.self)) : Int(offsets.loadUnaligned(fromByteOffset: slot * 8, as: Int64.self))
                    let end = offsetWidth == 4 ? Int(offsets.loadUnaligned(fromByteOffset: (slot + 1) * 4, as: Int32.self)) : Int(offsets.loadUnaligned(fromByteOffset: (slot + 1) * 8, as: Int64.self))
                    guard end > start, let data = child.buffers![2] else { return [] }
                    return Array(UnsafeRawBufferPointer(start: data + start, count: end - start))
                default:
                    return []
                }
            }
        }
    }
}
