import CFFI
import PluginKit

/// The C scalar types a native function may take and return.
///
/// `bool` is C's `_Bool` (one byte, 0 or 1, on every ABI sluice runs on); `string` is a
/// NUL-terminated `const char*`. `long` is 64 bits (sluice runs on LP64 Linux only).
///
/// Pure value type; any thread.
enum CType: Equatable, Sendable, CaseIterable {
    case int8, int16, int32, int64
    case uint8, uint16, uint32, uint64
    case float, double
    case bool
    case string

    /// The canonical C spelling, used in messages.
    var spelling: String {
        switch self {
        case .int8: return "int8_t"
        case .int16: return "int16_t"
        case .int32: return "int32_t"
        case .int64: return "int64_t"
        case .uint8: return "uint8_t"
        case .uint16: return "uint16_t"
        case .uint32: return "uint32_t"
        case .uint64: return "uint64_t"
        case .float: return "float"
        case .double: return "double"
        case .bool: return "bool"
        case .string: return "const char*"
        }
    }

    /// Every accepted spelling, as the token sequences the signature parser produces
    /// (`*` is a token of its own). Plain `char` is deliberately absent: it is signed on x86
    /// and unsigned on ARM, so a signature must say `int8_t`, `uint8_t` or `const char*`.
    var spellings: [[String]] {
        switch self {
        case .int8: return [["int8"], ["int8_t"], ["signed", "char"]]
        case .int16: return [["int16"], ["int16_t"], ["short"], ["short", "int"], ["signed", "short"], ["signed", "short", "int"]]
        case .int32: return [["int32"], ["int32_t"], ["int"], ["signed"], ["signed", "int"]]
        case .int64: return [["int64"], ["int64_t"], ["long"], ["long", "int"], ["long", "long"], ["long", "long", "int"],
                             ["signed", "long"], ["signed", "long", "long"], ["ssize_t"]]
        case .uint8: return [["uint8"], ["uint8_t"], ["unsigned", "char"]]
        case .uint16: return [["uint16"], ["uint16_t"], ["unsigned", "short"], ["unsigned", "short", "int"]]
        case .uint32: return [["uint32"], ["uint32_t"], ["unsigned"], ["unsigned", "int"]]
        case .uint64: return [["uint64"], ["uint64_t"], ["unsigned", "long"], ["unsigned", "long", "int"],
                              ["unsigned", "long", "long"], ["unsigned", "long", "long", "int"], ["size_t"]]
        case .float: return [["float"]]
        case .double: return [["double"]]
        case .bool: return [["bool"], ["_Bool"]]
        case .string: return [["const", "char", "*"], ["char", "const", "*"], ["char", "*"]]
        }
    }

    /// libffi's descriptor of the type (static storage inside libffi).
    var ffiType: UnsafeMutablePointer<ffi_type> {
        let code: Int32
        switch self {
        case .int8: code = Int32(SLUICE_FFI_SINT8)
        case .int16: code = Int32(SLUICE_FFI_SINT16)
        case .int32: code = Int32(SLUICE_FFI_SINT32)
        case .int64: code = Int32(SLUICE_FFI_SINT64)
        case .uint8, .bool: code = Int32(SLUICE_FFI_UINT8)
        case .uint16: code = Int32(SLUICE_FFI_UINT16)
        case .uint32: code = Int32(SLUICE_FFI_UINT32)
        case .uint64: code = Int32(SLUICE_FFI_UINT64)
        case .float: code = Int32(SLUICE_FFI_FLOAT)
        case .double: code = Int32(SLUICE_FFI_DOUBLE)
        case .string: code = Int32(SLUICE_FFI_POINTER)
        }
        return sluice_ffi_type(code)!
    }

    /// The Arrow type of a result column of this C type.
    var arrowFormat: ArrowFormat {
        switch self {
        case .int8: return .int8
        case .int16: return .int16
        case .int32: return .int32
        case .int64: return .int64
        case .uint8: return .uint8
        case .uint16: return .uint16
        case .uint32: return .uint32
        case .uint64: return .uint64
        case .float: return .float32
        case .double: return .float64
        case .bool: return .boolean
        case .string: return .utf8
        }
    }

    var isSignedInteger: Bool { [.int8, .int16, .int32, .int64].contains(self) }
    var isUnsignedInteger: Bool { [.uint8, .uint16, .uint32, .uint64].contains(self) }
    var isInteger: Bool { isSignedInteger || isUnsignedInteger }
    var isFloatingPoint: Bool { self == .float || self == .double }

    /// Bytes of the value as passed to libffi.
    var size: Int {
        switch self {
        case .int8, .uint8, .bool: return 1
        case .int16, .uint16: return 2
        case .int32, .uint32, .float: return 4
        case .int64, .uint64, .double, .string: return 8
        }
    }

    /// The range of an integer type as (min, max) in 128-bit-safe form: signed bounds as
    /// Int64, unsigned upper bound as UInt64.
    var integerRange: (min: Int64, max: UInt64) {
        switch self {
        case .int8: return (Int64(Int8.min), UInt64(Int8.max))
        case .int16: return (Int64(Int16.min), UInt64(Int16.max))
        case .int32: return (Int64(Int32.min), UInt64(Int32.max))
        case .int64: return (Int64.min, UInt64(Int64.max))
        case .uint8: return (0, UInt64(UInt8.max))
        case .uint16: return (0, UInt64(UInt16.max))
        case .uint32: return (0, UInt64(UInt32.max))
        case .uint64: return (0, UInt64.max)
        default: return (0, 0)
        }
    }
}
