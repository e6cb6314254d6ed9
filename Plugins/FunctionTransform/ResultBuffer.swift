import Glibc
import PluginKit

/// The output column of one batch, written row by row straight into `malloc`ed Arrow buffers
/// sized for the batch up front: no allocation per row (string data grows by doubling).
///
/// One batch, on the operator thread.
struct ResultBuffer {
    let type: CType
    let length: Int
    private let size: Int
    /// Fixed-width values, bits for bool, or `length + 1` Int32 offsets for strings.
    private var values: UnsafeMutableRawPointer
    /// Created at the first null, every earlier row valid.
    private var validity: UnsafeMutablePointer<UInt8>?
    private(set) var nullCount = 0
    private var data: UnsafeMutableRawPointer?
    private var dataCount = 0
    private var dataCapacity = 0

    init(type: CType, length: Int) {
        self.type = type
        self.length = length
        size = type.size
        switch type {
        case .bool: values = calloc(max(8, (length + 7) / 8), 1)!
        case .string:
            values = calloc(length + 1, 4)!
            dataCapacity = max(64, length * 8)
            data = malloc(dataCapacity)!
        default: values = calloc(max(1, length), size)!
        }
    }

    /// The fixed-width values buffer, for the fast path that lets libffi write results in place.
    var fixedValues: UnsafeMutableRawPointer { values }

    mutating func appendNull(_ row: Int) {
        if validity == nil {
            let bytes = max(8, (length + 7) / 8)
            validity = malloc(bytes)!.assumingMemoryBound(to: UInt8.self)
            memset(validity!, 0xFF, bytes)
        }
        validity![row >> 3] &= ~(1 << UInt8(row & 7))
        nullCount += 1
        if type == .string { values.storeBytes(of: Int32(dataCount), toByteOffset: (row + 1) * 4, as: Int32.self) }
    }

    /// Stores the function's result for `row` from libffi's return buffer (integers narrower
    /// than `ffi_arg` arrive widened to it). For strings: copies, then frees with `free` when
    /// given; a NULL pointer is a null value.
    @inline(__always)
    mutating func store(_ row: Int, from result: UnsafeMutableRawPointer,
                        free freeResult: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?) -> ArgumentReader.Failure? {
        switch type {
        case .double: values.storeBytes(of: result.load(as: Double.self), toByteOffset: row * 8, as: Double.self)
        case .float: values.storeBytes(of: result.load(as: Float.self), toByteOffset: row * 4, as: Float.self)
        case .int64, .uint64: values.storeBytes(of: result.load(as: UInt64.self), toByteOffset: row * 8, as: UInt64.self)
        case .int32, .uint32:
            values.storeBytes(of: UInt32(truncatingIfNeeded: result.load(as: UInt64.self)), toByteOffset: row * 4, as: UInt32.self)
        case .int16, .uint16:
            values.storeBytes(of: UInt16(truncatingIfNeeded: result.load(as: UInt64.self)), toByteOffset: row * 2, as: UInt16.self)
        case .int8, .uint8:
            values.storeBytes(of: UInt8(truncatingIfNeeded: result.load(as: UInt64.self)), toByteOffset: row, as: UInt8.self)
        case .bool:
            if UInt8(truncatingIfNeeded: result.load(as: UInt64.self)) != 0 {
                let p = values.assumingMemoryBound(to: UInt8.self)
                p[row >> 3] |= 1 << UInt8(row & 7)
            }
        case .string:
            guard let pointer = result.load(as: UnsafeMutableRawPointer?.self) else {
                appendNull(row)
                return nil
            }
            defer { freeResult?(pointer) }
            let count = strlen(pointer.assumingMemoryBound(to: CChar.self))
            guard isValidUTF8(UnsafeRawPointer(pointer), count) else { return .invalidUTF8 }
            if dataCount + count > dataCapacity {
                dataCapacity = max(dataCapacity * 2, dataCount + count)
                data = realloc(data, dataCapacity)!
            }
            memcpy(data! + dataCount, pointer, count)
            dataCount += count
            values.storeBytes(of: Int32(dataCount), toByteOffset: (row + 1) * 4, as: Int32.self)
        }
        return nil
    }

    /// Hands the buffers over (to `ComposedBatch`, which frees them with the batch).
    func finish(field: ArrowField) -> OwnedColumn {
        var buffers: [UnsafeMutableRawPointer?] = [validity.map { UnsafeMutableRawPointer($0) }, values]
        if type == .string { buffers.append(data) }
        return OwnedColumn(field: field, length: length, nullCount: nullCount, buffers: buffers)
    }
}

/// Whether `count` bytes are well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
/// ASCII runs are checked eight bytes at a time.
func isValidUTF8(_ bytes: UnsafeRawPointer, _ count: Int) -> Bool {
    let p = bytes.assumingMemoryBound(to: UInt8.self)
    var i = 0
    while i < count {
        if i + 8 <= count, bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
            i += 8
            continue
        }
        let b = p[i]
        if b < 0x80 { i += 1; continue }
        let need: Int, low: UInt8, high: UInt8
        switch b {
        case 0xC2...0xDF: (need, low, high) = (1, 0x80, 0xBF)
        case 0xE0: (need, low, high) = (2, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: (need, low, high) = (2, 0x80, 0xBF)
        case 0xED: (need, low, high) = (2, 0x80, 0x9F)
        case 0xF0: (need, low, high) = (3, 0x90, 0xBF)
        case 0xF1...0xF3: (need, low, high) = (3, 0x80, 0xBF)
        case 0xF4: (need, low, high) = (3, 0x80, 0x8F)
        default: return false
        }
        // The lead byte and `need` continuation bytes must all be there.
        guard i + need < count else { return false }
        guard p[i + 1] >= low && p[i + 1] <= high else { return false }
        if need >= 2 {
            for k in 2...need where p[i + k] & 0xC0 != 0x80 { return false }
        }
        i += need + 1
    }
    return true
}
