import Glibc
import PluginABI

/// Builds one Arrow column row by row into `malloc`ed buffers that are exported without a copy.
///
/// Appends are amortised O(1) and allocate nothing per row. Not thread-safe.
public final class ArrowColumnBuilder {
    public let name: String
    public let format: ArrowFormat
    public let nullable: Bool
    public private(set) var count = 0
    public private(set) var nullCount = 0

    private var validity: ArrowBuffer?  // created at the first null
    private var values = ArrowBuffer()   // fixed-width values, bits for booleans, offsets for strings
    private var data = ArrowBuffer()     // string bytes

    /// - Parameter capacity: rows to reserve room for up front.
    public init(name: String, format: ArrowFormat, nullable: Bool = true, capacity: Int = 0) {
        precondition(format != .structure, "nested structs are not supported")
        self.name = name
        self.format = format
        self.nullable = nullable
        if let width = format.byteWidth { values.reserve(width * capacity) }
        if format.isVariableWidth {
            values.reserve(4 * (capacity + 1))
            values.append(Int32(0))
        }
    }

    deinit {
        validity?.free()
        values.free()
        data.free()
    }

    // MARK: - Appending

    /// Appends a null (a zeroed slot, marked invalid in the validity bitmap).
    public func appendNull() {
        if validity == nil { startValidity() }
        nullCount += 1
        appendPlaceholder()
        setValid(false)
        count += 1
    }

    /// Appends an integer, stored at the column's width (bit pattern truncated for narrower
    /// types: callers range-check first). Also used for date32 (days) and timestamps.
    public func append(_ value: Int64) {
        switch format {
        case .int8, .uint8: values.append(UInt8(truncatingIfNeeded: value))
        case .int16, .uint16: values.append(UInt16(truncatingIfNeeded: value))
        case .int32, .uint32, .date32: values.append(UInt32(truncatingIfNeeded: value))
        case .int64, .uint64, .timestamp: values.append(value)
        case .float32: values.append(Float(value))
        case .float64: values.append(Double(value))
        case .boolean: appendBit(value != 0); return
        default: preconditionFailure("append(Int64) on a \(format.formatString) column")
        }
        markValidAndCount()
    }

    public func append(_ value: UInt64) {
        if format == .uint64 { values.append(value); markValidAndCount() } else { append(Int64(bitPattern: value)) }
    }

    public func append(_ value: Double) {
        switch format {
        case .float64: values.append(value)
        case .float32: values.append(Float(value))
        default: append(Int64(value)); return
        }
        markValidAndCount()
    }

    public func append(_ value: Bool) {
        if format == .boolean { appendBit(value) } else { append(Int64(value ? 1 : 0)) }
    }

    /// Appends a utf8 or binary value.
    public func append(bytes: UnsafeRawBufferPointer) {
        precondition(format.isVariableWidth, "append(bytes:) on a \(format.formatString) column")
        if let base = bytes.baseAddress, bytes.count > 0 { data.append(base, count: bytes.count) }
        values.append(Int32(truncatingIfNeeded: data.count))
        markValidAndCount()
    }

    public func append(_ string: String) {
        var s = string
        s.withUTF8 { append(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Appends row `row` of `column`, which must have the same format: the host uses this to
    /// copy rejected rows into dead-letter batches.
    public func append(row: Int, of column: ArrowColumnView) {
        if column.isNull(row) { appendNull(); return }
        switch format {
        case .boolean: appendBit(column.bool(row))
        case .utf8, .binary: append(bytes: column.bytes(row))
        default:
            let width = format.byteWidth!
            values.append(column.values! + (row + column.offset) * width, count: width)
            markValidAndCount()
        }
    }

    // MARK: - Finishing

    /// Moves the built values out; the builder is empty afterwards and can be reused.
    func finish() -> ArrowColumnStorage {
        let validityBuffer = validity?.take()
        validity = nil
        var buffers: [UnsafeMutableRawPointer?] = [validityBuffer]
        if format.isVariableWidth {
            buffers.append(values.take())
            // Arrow requires a non-null data buffer even when every string is empty.
            if data.count == 0 { data.appendZeros(1) }
            buffers.append(data.take())
            values.append(Int32(0))
        } else {
            if values.count == 0 { values.appendZeros(8) }
            buffers.append(values.take())
        }
        let storage = ArrowColumnStorage(name: name, format: format, nullable: nullable, length: count, nullCount: nullCount, buffers: buffers)
        count = 0
        nullCount = 0
        return storage
    }

    // MARK: - Bits

    private func markValidAndCount() {
        if validity != nil { setValid(true) }
        count += 1
    }

    private func appendBit(_ bit: Bool) {
        if count % 8 == 0 { values.appendZeros(1) }
        if bit {
            let p = values.pointer!.assumingMemoryBound(to: UInt8.self)
            p[count >> 3] |= 1 << UInt8(count & 7)
        }
        markValidAndCount()
    }

    private func appendPlaceholder() {
        switch format {
        case .boolean: if count % 8 == 0 { values.appendZeros(1) }
        case .utf8, .binary: values.append(Int32(truncatingIfNeeded: data.count))
        default: values.appendZeros(format.byteWidth!)
        }
    }

    /// Creates the bitmap with every earlier row valid.
    private func startValidity() {
        var bitmap = ArrowBuffer(reserving: max(8, (count + 8) / 8))
        bitmap.appendZeros((count + 7) / 8)
        let p = bitmap.pointer!.assumingMemoryBound(to: UInt8.self)
        for i in 0..<count { p[i >> 3] |= 1 << UInt8(i & 7) }
        validity = bitmap
    }

    /// Sets the bit of row `count` (the row being appended).
    private func setValid(_ valid: Bool) {
        if count % 8 == 0 { validity!.appendZeros(1) }
        if valid {
            let p = validity!.pointer!.assumingMemoryBound(to: UInt8.self)
            p[count >> 3] |= 1 << UInt8(count & 7)
        }
    }
}

/// Builds a whole batch from column builders and exports it.
public struct ArrowBatchBuilder {
    public let columns: [ArrowColumnBuilder]

    public init(columns: [ArrowColumnBuilder]) { self.columns = columns }

    /// Exports the rows appended so far into the given structs (moved to the caller) and
    /// resets the builders. Every column must have the same number of rows.
    public func export(schema: UnsafeMutablePointer<ArrowSchema>, array: UnsafeMutablePointer<ArrowArray>) {
        let length = columns.first?.count ?? 0
        precondition(columns.allSatisfy { $0.count == length }, "columns of one batch differ in length")
        ArrowExporter.export(columns: columns.map { $0.finish() }, length: length, schema: schema, array: array)
    }

    /// Exports the rows appended so far as an owned batch.
    public func finish() -> ArrowBatch {
        let batch = ArrowBatch()
        export(schema: batch.schema, array: batch.array)
        return batch
    }
}
