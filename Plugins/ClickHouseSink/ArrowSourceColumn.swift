import PluginKit

/// Raw access to one column of an Arrow batch, read straight from the C Data Interface structs
/// so fixed-width values can be copied into Native blocks with one `memcpy`.
///
/// Borrowed: valid while the batch it came from is alive. The sink's operator thread only.
struct ArrowSourceColumn {
    let name: String
    let format: ArrowFormat
    let nullable: Bool
    /// Rows of the batch.
    let length: Int
    /// Index of row 0 inside the buffers (the column's offset plus the batch's).
    let offset: Int
    let nullCount: Int
    let validity: UnsafePointer<UInt8>?
    let values: UnsafeRawPointer?
    let data: UnsafeRawPointer?

    /// Every column of a batch; throws for formats or layouts the sink cannot read.
    static func columns(of batch: ArrowBatch) throws -> [ArrowSourceColumn] {
        // ArrowBatchView checks the layout (struct format, buffer counts, lengths).
        _ = try batch.view()
        let s = batch.schema.pointee, a = batch.array.pointee
        return (0..<Int(s.n_children)).map { i in
            let cs = s.children![i]!.pointee, ca = a.children![i]!.pointee
            let format = ArrowFormat(cs.format.map { String(cString: $0) } ?? "")
            let buffers = ca.buffers!
            return ArrowSourceColumn(
                name: cs.name.map { String(cString: $0) } ?? "",
                format: format,
                nullable: (cs.flags & Int64(ARROW_FLAG_NULLABLE)) != 0,
                length: Int(a.length),
                offset: Int(ca.offset) + Int(a.offset),
                nullCount: Int(ca.null_count),
                validity: ca.null_count == 0 ? nil : buffers[0].map { $0.assumingMemoryBound(to: UInt8.self) },
                values: buffers[1],
                data: format.isVariableWidth ? buffers[2] : nil)
        }
    }

    @inline(__always)
    func isNull(_ row: Int) -> Bool {
        guard let validity else { return false }
        let i = row + offset
        return validity[i >> 3] & (1 << UInt8(i & 7)) == 0
    }

    @inline(__always)
    func load<T>(_ row: Int, as: T.Type) -> T {
        values!.load(fromByteOffset: (row + offset) * MemoryLayout<T>.stride, as: T.self)
    }

    @inline(__always)
    func bit(_ row: Int) -> Bool {
        let i = row + offset
        return values!.load(fromByteOffset: i >> 3, as: UInt8.self) & (1 << UInt8(i & 7)) != 0
    }

    /// The bytes of a utf8 or binary value.
    @inline(__always)
    func bytes(_ row: Int) -> UnsafeRawBufferPointer {
        let offsets = values!.assumingMemoryBound(to: Int32.self)
        let start = Int(offsets[row + offset]), end = Int(offsets[row + offset + 1])
        return UnsafeRawBufferPointer(start: data.map { $0 + start }, count: end - start)
    }

    /// Integer value of integer, boolean, date32 and timestamp columns: signed, or the raw
    /// UInt64 for uint64 columns (`unsigned` true).
    @inline(__always)
    func integer(_ row: Int) -> (signed: Int64, unsigned: UInt64, isUnsigned: Bool) {
        switch format {
        case .int8: return (Int64(load(row, as: Int8.self)), 0, false)
        case .int16: return (Int64(load(row, as: Int16.self)), 0, false)
        case .int32, .date32: return (Int64(load(row, as: Int32.self)), 0, false)
        case .int64, .timestamp: return (load(row, as: Int64.self), 0, false)
        case .uint8: return (Int64(load(row, as: UInt8.self)), 0, false)
        case .uint16: return (Int64(load(row, as: UInt16.self)), 0, false)
        case .uint32: return (Int64(load(row, as: UInt32.self)), 0, false)
        case .uint64: return (0, load(row, as: UInt64.self), true)
        case .boolean: return (bit(row) ? 1 : 0, 0, false)
        default: return (0, 0, false)
        }
    }

    @inline(__always)
    func double(_ row: Int) -> Double {
        switch format {
        case .float32: return Double(load(row, as: Float.self))
        case .float64: return load(row, as: Double.self)
        case .uint64: return Double(load(row, as: UInt64.self))
        default: return Double(integer(row).signed)
        }
    }
}

import Foundation
