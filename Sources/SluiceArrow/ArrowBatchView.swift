import PluginABI

/// Why a batch could not be read.
public struct ArrowFormatError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A read-only view of a batch's columns: borrowed pointers, no copies.
///
/// Valid only while the batch it views is alive and not moved; any thread that owns the batch.
public struct ArrowBatchView {
    public let columns: [ArrowColumnView]
    public let length: Int

    public init(schema: UnsafePointer<ArrowSchema>, array: UnsafePointer<ArrowArray>) throws {
        let s = schema.pointee, a = array.pointee
        guard s.release != nil, a.release != nil else { throw ArrowFormatError("the batch has been released") }
        guard let format = s.format, String(cString: format) == "+s" else {
            throw ArrowFormatError("a batch must be a struct array (format \"+s\")")
        }
        guard s.n_children == a.n_children else {
            throw ArrowFormatError("the batch's schema has \(s.n_children) columns but its array has \(a.n_children)")
        }
        var columns: [ArrowColumnView] = []
        columns.reserveCapacity(Int(s.n_children))
        for i in 0..<Int(s.n_children) {
            guard let childSchema = s.children?[i], let childArray = a.children?[i] else {
                throw ArrowFormatError("column \(i) of the batch is missing")
            }
            // A struct array's own offset shifts every child (the Arrow spec), folded in here.
            columns.append(try ArrowColumnView(schema: childSchema, array: childArray, parentOffset: Int(a.offset), parentLength: Int(a.length)))
        }
        self.columns = columns
        self.length = Int(a.length)
    }

    public func column(named name: String) -> ArrowColumnView? { columns.first { $0.name == name } }
}

/// One column of a batch.
public struct ArrowColumnView {
    public let name: String
    public let format: ArrowFormat
    public let nullable: Bool
    public let length: Int
    /// Index of this view's row 0 inside the underlying buffers.
    let offset: Int
    let validity: UnsafePointer<UInt8>?
    /// Values for fixed-width and boolean columns; offsets for variable-width ones.
    let values: UnsafeRawPointer?
    /// Character data of variable-width columns.
    let data: UnsafeRawPointer?

    init(schema: UnsafePointer<ArrowSchema>, array: UnsafePointer<ArrowArray>, parentOffset: Int, parentLength: Int) throws {
        let s = schema.pointee, a = array.pointee
        name = s.name.map { String(cString: $0) } ?? ""
        format = ArrowFormat(s.format.map { String(cString: $0) } ?? "")
        nullable = (s.flags & Int64(ARROW_FLAG_NULLABLE)) != 0
        offset = Int(a.offset) + parentOffset
        length = parentLength
        guard Int(a.length) >= parentLength + parentOffset else {
            throw ArrowFormatError("column '\(name)' has \(a.length) rows but the batch has \(parentLength + parentOffset)")
        }
        let expectedBuffers: Int64
        switch format {
        case .utf8, .binary: expectedBuffers = 3
        case .unsupported(let f): throw ArrowFormatError("column '\(name)' has Arrow format \"\(f)\", which sluice does not support")
        case .structure: throw ArrowFormatError("column '\(name)' is a nested struct, which sluice does not support")
        default: expectedBuffers = 2
        }
        guard a.n_buffers == expectedBuffers, let buffers = a.buffers else {
            throw ArrowFormatError("column '\(name)' (format \(format.formatString)) has \(a.n_buffers) buffers, expected \(expectedBuffers)")
        }
        validity = a.null_count == 0 ? nil : buffers[0].map { $0.assumingMemoryBound(to: UInt8.self) }
        values = buffers[1]
        data = expectedBuffers == 3 ? buffers[2] : nil
        if length > 0 && values == nil { throw ArrowFormatError("column '\(name)' has no value buffer") }
    }

    // MARK: - Reading values (row is 0-based within the batch)

    @inline(__always)
    public func isNull(_ row: Int) -> Bool {
        guard let validity else { return false }
        let i = row + offset
        return validity[i >> 3] & (1 << UInt8(i & 7)) == 0
    }

    @inline(__always)
    public func fixed<T>(_ row: Int, as: T.Type) -> T {
        values!.load(fromByteOffset: (row + offset) * MemoryLayout<T>.stride, as: T.self)
    }

    @inline(__always)
    public func bool(_ row: Int) -> Bool {
        let i = row + offset
        return values!.load(fromByteOffset: i >> 3, as: UInt8.self) & (1 << UInt8(i & 7)) != 0
    }

    /// The value as a signed integer, for any integer, date or timestamp column.
    public func int64(_ row: Int) -> Int64 {
        switch format {
        case .int8: return Int64(fixed(row, as: Int8.self))
        case .int16: return Int64(fixed(row, as: Int16.self))
        case .int32, .date32: return Int64(fixed(row, as: Int32.self))
        case .int64, .timestamp: return fixed(row, as: Int64.self)
        case .uint8: return Int64(fixed(row, as: UInt8.self))
        case .uint16: return Int64(fixed(row, as: UInt16.self))
        case .uint32: return Int64(fixed(row, as: UInt32.self))
        case .uint64: return Int64(bitPattern: fixed(row, as: UInt64.self))
        case .boolean: return bool(row) ? 1 : 0
        case .float32: return Int64(fixed(row, as: Float.self))
        case .float64: return Int64(fixed(row, as: Double.self))
        default: return 0
        }
    }

    /// The bytes of a utf8 or binary value; borrowed from the batch.
    @inline(__always)
    public func bytes(_ row: Int) -> UnsafeRawBufferPointer {
        let offsets = values!.assumingMemoryBound(to: Int32.self)
        let start = Int(offsets[row + offset]), end = Int(offsets[row + offset + 1])
        return UnsafeRawBufferPointer(start: data.map { $0 + start }, count: end - start)
    }

    public func string(_ row: Int) -> String {
        String(decoding: bytes(row), as: UTF8.self)
    }
}
