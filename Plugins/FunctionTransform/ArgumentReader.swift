import Glibc
import PluginKit

/// Reads one column argument, row by row, into its libffi slot: converts, range-checks and,
/// for strings, copies into a NUL-terminated scratch buffer that grows only when a longer
/// value arrives. Plain pointers and integers only, so the row loop does no reference
/// counting and no allocation.
///
/// Valid for one batch, on the operator thread.
struct ArgumentReader {
    /// Why a row cannot be passed (trivial payloads: no allocation on the failure path either).
    enum Failure: Equatable {
        case outOfRangeSigned(parameter: Int, value: Int64)
        case outOfRangeUnsigned(parameter: Int, value: UInt64)
        case nulByte(parameter: Int)
        case invalidUTF8
    }

    let read: ColumnRead
    /// Parameter index.
    let index: Int
    let slot: UnsafeMutableRawPointer
    let scratch: UnsafeMutablePointer<FunctionTransform.Scratch>
    let validity: UnsafePointer<UInt8>?
    let values: UnsafeRawPointer?
    let data: UnsafeRawPointer?
    /// Row 0's index inside the buffers (child offset plus parent offset).
    let offset: Int
    private let size: Int
    private let minimum: Int64
    private let maximum: UInt64
    private let isFloat: Bool

    init(read: ColumnRead, parameter: CType, index: Int, slot: UnsafeMutableRawPointer,
         scratch: UnsafeMutablePointer<FunctionTransform.Scratch>, validity: UnsafePointer<UInt8>?,
         values: UnsafeRawPointer?, data: UnsafeRawPointer?, offset: Int) {
        (self.read, self.index, self.slot, self.scratch) = (read, index, slot, scratch)
        (self.validity, self.values, self.data, self.offset) = (validity, values, data, offset)
        size = parameter.size
        let range = parameter.integerRange
        (minimum, maximum) = (range.min, range.max)
        isFloat = parameter == .float
    }

    @inline(__always)
    func isNull(_ row: Int) -> Bool {
        guard let validity else { return false }
        let i = row + offset
        return validity[i >> 3] & (1 << UInt8(i & 7)) == 0
    }

    /// `on_null: call`: 0, 0.0, false, or "" in place of a null.
    @inline(__always)
    func storeZero() {
        if read == .bytes {
            slot.storeBytes(of: UnsafeRawPointer(FunctionTransform.emptyString), as: UnsafeRawPointer.self)
        } else {
            slot.storeBytes(of: UInt64(0), as: UInt64.self)
        }
    }

    /// Loads row `row` (not null) into the slot; nil on success.
    @inline(__always)
    func load(_ row: Int) -> Failure? {
        let i = row + offset
        switch read {
        case .copy(let width):
            let p = values! + i * width
            switch width {
            case 8: slot.storeBytes(of: p.loadUnaligned(as: UInt64.self), as: UInt64.self)
            case 4: slot.storeBytes(of: p.loadUnaligned(as: UInt32.self), as: UInt32.self)
            case 2: slot.storeBytes(of: p.loadUnaligned(as: UInt16.self), as: UInt16.self)
            default: slot.storeBytes(of: p.load(as: UInt8.self), as: UInt8.self)
            }
        case .signed(let width, let checked):
            let v = signed(i, width)
            if checked && (v < minimum || (v > 0 && UInt64(v) > maximum)) { return .outOfRangeSigned(parameter: index, value: v) }
            storeInteger(UInt64(bitPattern: v))
        case .unsigned(let width, let checked):
            let v = unsigned(i, width)
            if checked && v > maximum { return .outOfRangeUnsigned(parameter: index, value: v) }
            storeInteger(v)
        case .signedToFloating(let width):
            storeFloating(Double(signed(i, width)))
        case .unsignedToFloating(let width):
            storeFloating(Double(unsigned(i, width)))
        case .float32ToDouble:
            slot.storeBytes(of: Double(values!.loadUnaligned(fromByteOffset: i * 4, as: Float.self)), as: Double.self)
        case .float64ToFloat:
            slot.storeBytes(of: Float(values!.loadUnaligned(fromByteOffset: i * 8, as: Double.self)), as: Float.self)
        case .bit:
            let bit = values!.load(fromByteOffset: i >> 3, as: UInt8.self) & (1 << UInt8(i & 7)) != 0
            slot.storeBytes(of: UInt8(bit ? 1 : 0), as: UInt8.self)
        case .bytes:
            let offsets = values!.assumingMemoryBound(to: Int32.self)
            let start = Int(offsets[i]), count = Int(offsets[i + 1]) - start
            if scratch.pointee.capacity < count + 1 {
                let capacity = max(64, (count + 1) * 2)
                scratch.pointee.buffer = realloc(scratch.pointee.buffer, capacity)!.assumingMemoryBound(to: CChar.self)
                scratch.pointee.capacity = capacity
            }
            let buffer = scratch.pointee.buffer!
            if count > 0 {
                let source = data! + start
                if memchr(source, 0, count) != nil { return .nulByte(parameter: index) }
                memcpy(buffer, source, count)
            }
            buffer[count] = 0
            slot.storeBytes(of: UnsafeRawPointer(buffer), as: UnsafeRawPointer.self)
        }
        return nil
    }

    @inline(__always)
    private func signed(_ i: Int, _ width: Int) -> Int64 {
        switch width {
        case 1: return Int64(values!.load(fromByteOffset: i, as: Int8.self))
        case 2: return Int64(values!.loadUnaligned(fromByteOffset: i * 2, as: Int16.self))
        case 4: return Int64(values!.loadUnaligned(fromByteOffset: i * 4, as: Int32.self))
        default: return values!.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)
        }
    }

    @inline(__always)
    private func unsigned(_ i: Int, _ width: Int) -> UInt64 {
        switch width {
        case 1: return UInt64(values!.load(fromByteOffset: i, as: UInt8.self))
        case 2: return UInt64(values!.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))
        case 4: return UInt64(values!.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))
        default: return values!.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)
        }
    }

    /// Stores the low `size` bytes (the value was range-checked or fits by construction).
    @inline(__always)
    private func storeInteger(_ bits: UInt64) {
        switch size {
        case 1: slot.storeBytes(of: UInt8(truncatingIfNeeded: bits), as: UInt8.self)
        case 2: slot.storeBytes(of: UInt16(truncatingIfNeeded: bits), as: UInt16.self)
        case 4: slot.storeBytes(of: UInt32(truncatingIfNeeded: bits), as: UInt32.self)
        default: slot.storeBytes(of: bits, as: UInt64.self)
        }
    }

    @inline(__always)
    private func storeFloating(_ value: Double) {
        if isFloat { slot.storeBytes(of: Float(value), as: Float.self) } else { slot.storeBytes(of: value, as: Double.self) }
    }
}

extension FunctionTransform {
    /// What a null string argument becomes with `on_null: call`.
    static let emptyString: UnsafePointer<CChar> = UnsafePointer(strdup("")!)
}
