import Glibc
import PluginKit

/// One column of the target table, as `DESCRIBE TABLE` reports it.
struct TableColumn: Equatable {
    let name: String
    /// The server's spelling, written as-is into Native block headers.
    let typeName: String
    /// nil when the sink cannot encode the type.
    let type: ClickHouseType?
    /// "", "DEFAULT", "MATERIALIZED", "ALIAS" (or "EPHEMERAL" on new servers).
    let defaultKind: String

    /// MATERIALIZED and ALIAS columns cannot be inserted into.
    var isInsertable: Bool { defaultKind != "MATERIALIZED" && defaultKind != "ALIAS" }
}

/// A data error in one row: the value cannot be stored in its column.
struct ConversionError: Error, CustomStringConvertible {
    let description: String
    /// The input column at fault (the first one, when several are).
    var column: String? = nil
}

/// How an Arrow column's values become a ClickHouse column's values. Chosen once per batch
/// schema by `NativeColumnEncoder.conversion(from:to:)`.
enum ValueConversion: Equatable {
    /// Bit-identical representation: the value buffer is copied with one memcpy.
    case copy(width: Int)
    /// Integers (and booleans, date32, timestamps) scaled by `multiplier / divisor` (floor),
    /// range-checked, stored `width` bytes wide.
    case integer(multiplier: Int64, divisor: Int64, min: Int64, max: UInt64, width: Int)
    case float32
    case float64
    case string
    case fixedString(Int)
    case lowCardinality
}

/// Accumulates one column of a Native block from Arrow batches: the null map, the values, and
/// for LowCardinality the dictionary and its indexes.
///
/// Not thread-safe; owned by one encoder on the sink's thread.
final class NativeColumnEncoder {
    let arrowName: String
    let arrowFormat: ArrowFormat
    let column: TableColumn
    let type: ClickHouseType
    let conversion: ValueConversion
    let nullAsDefault: Bool

    private(set) var rows = 0
    // Raw, geometrically grown buffers, kept across blocks (a block is bounded by
    // max_block_rows / max_block_bytes). Hot loops copy the struct into a local, write through
    // its pointer and store it back, so no per-row Array bookkeeping or exclusivity checks.
    private var nullMap = RawBytes()
    private var data = RawBytes()
    // LowCardinality: dictionary keys (already serialized as String), their lookup, indexes.
    private var dictionary: [[UInt8]: UInt32] = [:]
    private var dictionaryData: [UInt8] = []
    private var dictionarySize = 0
    private var indexes: [UInt32] = []

    init(arrowName: String, arrowFormat: ArrowFormat, column: TableColumn, nullAsDefault: Bool) throws {
        guard let type = column.type else {
            throw ConversionError(description: "column '\(column.name)' has type \(column.typeName), which the ClickHouse sink cannot write")
        }
        guard let conversion = NativeColumnEncoder.conversion(from: arrowFormat, to: type) else {
            throw ConversionError(description: NativeColumnEncoder.incompatibleMessage(arrowName: arrowName, arrowFormat: arrowFormat, column: column))
        }
        self.arrowName = arrowName
        self.arrowFormat = arrowFormat
        self.column = column
        self.type = type
        self.conversion = conversion
        self.nullAsDefault = nullAsDefault
        resetLowCardinality()
    }

    deinit {
        nullMap.free()
        data.free()
    }

    static func incompatibleMessage(arrowName: String, arrowFormat: ArrowFormat, column: TableColumn) -> String {
        let target = arrowName == column.name ? "" : " (mapped to table column '\(column.name)')"
        return "column '\(arrowName)'\(target): Arrow type \(arrowFormat.typeName) cannot be converted to ClickHouse type \(column.typeName)"
    }

    /// Bytes this column holds now (roughly what it adds to a block).
    var byteCount: Int { nullMap.count + data.count + dictionaryData.count + indexes.count * 4 }

    // MARK: - Type compatibility

    /// The conversion from an Arrow format to a ClickHouse type, or nil when they are
    /// incompatible. Nullable wrappers only change the null handling.
    static func conversion(from arrow: ArrowFormat, to target: ClickHouseType) -> ValueConversion? {
        switch target {
        case .nullable(let inner): return conversion(from: arrow, to: inner)
        case .lowCardinality: return arrow.isVariableWidth ? .lowCardinality : nil
        case .string: return arrow.isVariableWidth ? .string : nil
        case .fixedString(let n): return arrow.isVariableWidth ? .fixedString(n) : nil
        case .float32:
            switch arrow {
            case .float32: return .copy(width: 4)
            case .float64, .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64: return .float32
            default: return nil
            }
        case .float64:
            switch arrow {
            case .float64: return .copy(width: 8)
            case .float32, .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64: return .float64
            default: return nil
            }
        case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64, .bool:
            let range = target.integerRange!, width = target.byteWidth!
            switch arrow {
            case .int8 where target == .int8, .int16 where target == .int16, .int32 where target == .int32,
                 .int64 where target == .int64, .uint8 where target == .uint8, .uint16 where target == .uint16,
                 .uint32 where target == .uint32, .uint64 where target == .uint64:
                return .copy(width: width)
            case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64, .boolean:
                return .integer(multiplier: 1, divisor: 1, min: range.min, max: range.max, width: width)
            default: return nil
            }
        case .date:
            switch arrow {
            case .date32, .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64:
                return .integer(multiplier: 1, divisor: 1, min: 0, max: UInt64(UInt16.max), width: 2)
            case .timestamp(let unit, _):
                return .integer(multiplier: 1, divisor: unitsPerSecond(unit) * 86_400, min: 0, max: UInt64(UInt16.max), width: 2)
            default: return nil
            }
        case .dateTime:
            switch arrow {
            case .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64:
                return .integer(multiplier: 1, divisor: 1, min: 0, max: UInt64(UInt32.max), width: 4)
            case .date32:
                return .integer(multiplier: 86_400, divisor: 1, min: 0, max: UInt64(UInt32.max), width: 4)
            case .timestamp(let unit, _):
                return .integer(multiplier: 1, divisor: unitsPerSecond(unit), min: 0, max: UInt64(UInt32.max), width: 4)
            default: return nil
            }
        case .dateTime64(let precision, _):
            var ticks: Int64 = 1
            for _ in 0..<precision { ticks *= 10 }
            switch arrow {
            case .int64: return .copy(width: 8)
            case .int8, .int16, .int32, .uint8, .uint16, .uint32, .uint64:
                return .integer(multiplier: 1, divisor: 1, min: Int64.min, max: UInt64(Int64.max), width: 8)
            case .date32:
                return .integer(multiplier: 86_400 * ticks, divisor: 1, min: Int64.min, max: UInt64(Int64.max), width: 8)
            case .timestamp(let unit, _):
                let ups = unitsPerSecond(unit)
                if ups == ticks { return .copy(width: 8) }
                if ticks > ups { return .integer(multiplier: ticks / ups, divisor: 1, min: Int64.min, max: UInt64(Int64.max), width: 8) }
                return .integer(multiplier: 1, divisor: ups / ticks, min: Int64.min, max: UInt64(Int64.max), width: 8)
            default: return nil
            }
        }
    }

    static func unitsPerSecond(_ unit: ArrowFormat.TimeUnit) -> Int64 {
        switch unit {
        case .seconds: return 1
        case .milliseconds: return 1_000
        case .microseconds: return 1_000_000
        case .nanoseconds: return 1_000_000_000
        }
    }

    // MARK: - Appending

    /// Appends rows `range` of `source` (whose format must be `arrowFormat`).
    func append(_ source: ArrowSourceColumn, rows range: Range<Int>) throws {
        let count = range.count
        guard count > 0 else { return }
        let nullable = type.isNullable
        let hasNulls = source.validity != nil
        if hasNulls && !nullable && !nullAsDefault {
            for row in range where source.isNull(row) {
                throw ConversionError(description: "column '\(arrowName)': row \(row) is NULL but ClickHouse column '\(column.name)' has the non-Nullable type \(column.typeName); make the column Nullable or set null_as_default: true")
            }
        }
        if nullable, case .lowCardinality = conversion {} else if nullable {
            var map = nullMap
            defer { nullMap = map }
            let p = map.grow(by: count)
            if hasNulls {
                for (i, row) in range.enumerated() { p[i] = source.isNull(row) ? 1 : 0 }
            } else {
                p.initialize(repeating: 0, count: count)
            }
        }
        if case .lowCardinality = conversion {
            indexes.reserveCapacity(indexes.count + count)
            for row in range {
                if hasNulls && source.isNull(row) {
                    indexes.append(nullable ? 0 : defaultIndex)
                    continue
                }
                indexes.append(dictionaryIndex(source.bytes(row)))
            }
            rows += count
            return
        }
        var out = data
        defer { data = out }
        switch conversion {
        case .copy(let width):
            let p = out.grow(by: count * width)
            p.update(from: (source.values! + (range.lowerBound + source.offset) * width).assumingMemoryBound(to: UInt8.self), count: count * width)
            if hasNulls && !nullable {
                // null_as_default: a NULL becomes the type's zero.
                for row in range where source.isNull(row) {
                    (p + (row - range.lowerBound) * width).initialize(repeating: 0, count: width)
                }
            }
        case .integer(let multiplier, let divisor, let min, let max, let width):
            let p = out.grow(by: count * width)
            var at = 0
            for row in range {
                defer { at += width }
                if hasNulls && source.isNull(row) { (p + at).initialize(repeating: 0, count: width); continue }
                let v = source.integer(row)
                let stored: UInt64
                if v.isUnsigned {
                    if multiplier == 1 && divisor == 1 {
                        guard v.unsigned <= max else { out.shrink(by: count * width); throw outOfRange(row, String(v.unsigned)) }
                        stored = v.unsigned
                    } else {
                        guard v.unsigned <= UInt64(Int64.max) else { out.shrink(by: count * width); throw outOfRange(row, String(v.unsigned)) }
                        do { stored = try scaled(Int64(v.unsigned), multiplier, divisor, min, max, row: row) } catch { out.shrink(by: count * width); throw error }
                    }
                } else if multiplier == 1 && divisor == 1 {
                    guard v.signed >= min, v.signed < 0 || UInt64(v.signed) <= max else { out.shrink(by: count * width); throw outOfRange(row, String(v.signed)) }
                    stored = UInt64(bitPattern: v.signed)
                } else {
                    do { stored = try scaled(v.signed, multiplier, divisor, min, max, row: row) } catch { out.shrink(by: count * width); throw error }
                }
                NativeColumnEncoder.storeLittleEndian(stored, width: width, at: p + at)
            }
        case .float32:
            let p = out.grow(by: count * 4)
            var at = 0
            for row in range {
                let value = hasNulls && source.isNull(row) ? 0 : Float(source.double(row))
                NativeColumnEncoder.storeLittleEndian(UInt64(value.bitPattern), width: 4, at: p + at)
                at += 4
            }
        case .float64:
            let p = out.grow(by: count * 8)
            var at = 0
            for row in range {
                let value = hasNulls && source.isNull(row) ? 0 : source.double(row)
                NativeColumnEncoder.storeLittleEndian(value.bitPattern, width: 8, at: p + at)
                at += 8
            }
        case .string:
            // At most the characters plus a 5-byte length prefix per value (Arrow offsets are Int32).
            let offsets = source.values!.assumingMemoryBound(to: Int32.self)
            let characters = Int(offsets[range.upperBound + source.offset]) - Int(offsets[range.lowerBound + source.offset])
            let reserved = characters + count * 5
            let base = out.grow(by: reserved)
            var p = base
            for row in range {
                if hasNulls && source.isNull(row) { p.pointee = 0; p += 1; continue }
                let bytes = source.bytes(row)
                var v = UInt(bytes.count)
                while v >= 0x80 { p.pointee = UInt8(truncatingIfNeeded: v) | 0x80; p += 1; v >>= 7 }
                p.pointee = UInt8(v)
                p += 1
                if bytes.count > 0 {
                    p.update(from: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), count: bytes.count)
                    p += bytes.count
                }
            }
            out.shrink(by: reserved - (p - base))
        case .fixedString(let n):
            let p = out.grow(by: count * n)
            var at = 0
            for row in range {
                defer { at += n }
                if hasNulls && source.isNull(row) { (p + at).initialize(repeating: 0, count: n); continue }
                let bytes = source.bytes(row)
                guard bytes.count <= n else {
                    out.shrink(by: count * n)
                    throw ConversionError(description: "column '\(arrowName)': row \(row) has \(bytes.count) bytes, more than ClickHouse column '\(column.name)' \(column.typeName) holds")
                }
                if bytes.count > 0 { (p + at).update(from: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), count: bytes.count) }
                (p + at + bytes.count).initialize(repeating: 0, count: n - bytes.count)
            }
        case .lowCardinality:
            break
        }
        rows += count
    }

    @inline(__always)
    static func storeLittleEndian(_ value: UInt64, width: Int, at p: UnsafeMutablePointer<UInt8>) {
        switch width {
        case 1: p.pointee = UInt8(truncatingIfNeeded: value)
        case 2: UnsafeMutableRawPointer(p).storeBytes(of: UInt16(truncatingIfNeeded: value).littleEndian, as: UInt16.self)
        case 4: UnsafeMutableRawPointer(p).storeBytes(of: UInt32(truncatingIfNeeded: value).littleEndian, as: UInt32.self)
        default: UnsafeMutableRawPointer(p).storeBytes(of: value.littleEndian, as: UInt64.self)
        }
    }

    private func outOfRange(_ row: Int, _ value: String) -> ConversionError {
        let target = type.base
        let range = target.integerRange.map { " (\($0.min)...\($0.max))" } ?? ""
        return ConversionError(description: "column '\(arrowName)': row \(row) has the value \(value) (Arrow \(arrowFormat.typeName)), which does not fit ClickHouse column '\(column.name)' of type \(column.typeName)\(range)")
    }

    @inline(__always)
    private func scaled(_ value: Int64, _ multiplier: Int64, _ divisor: Int64, _ min: Int64, _ max: UInt64, row: Int) throws -> UInt64 {
        var v = value
        if multiplier != 1 {
            let (product, overflow) = v.multipliedReportingOverflow(by: multiplier)
            guard !overflow else { throw outOfRange(row, String(value)) }
            v = product
        }
        if divisor != 1 {
            // Floor division: times before the epoch round down, as ClickHouse's toDateTime does.
            let q = v / divisor
            v = (v % divisor != 0 && v < 0) ? q - 1 : q
        }
        guard v >= min, v < 0 || UInt64(v) <= max else { throw outOfRange(row, String(value)) }
        return UInt64(bitPattern: v)
    }

    // MARK: - LowCardinality

    /// LowCardinality(Nullable(String)) keeps NULL at index 0 and the default ("") at 1;
    /// LowCardinality(String) keeps "" at 0, as ClickHouse itself writes them.
    private var defaultIndex: UInt32 { type.isNullable ? 1 : 0 }

    private func resetLowCardinality() {
        dictionary = [:]
        dictionaryData = []
        dictionarySize = 0
        indexes = []
        guard case .lowCardinality = conversion else { return }
        if type.isNullable {
            dictionaryData.append(0)  // the NULL placeholder
            dictionarySize += 1
        }
        dictionary[[]] = UInt32(dictionarySize)
        dictionaryData.append(0)  // ""
        dictionarySize += 1
    }

    private func dictionaryIndex(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        let key = Array(bytes)
        if let index = dictionary[key] { return index }
        let index = UInt32(dictionarySize)
        dictionary[key] = index
        var v = UInt64(bytes.count)
        while v >= 0x80 { dictionaryData.append(UInt8(truncatingIfNeeded: v) | 0x80); v >>= 7 }
        dictionaryData.append(UInt8(v))
        dictionaryData.append(contentsOf: bytes)
        dictionarySize += 1
        return index
    }

    // MARK: - Output

    /// Appends this column to a Native block: name, type, then the data.
    func serialize(into out: inout [UInt8]) {
        forEachChunk { out.append(contentsOf: $0) }
    }

    /// This column as a Native block holds it (name, type, then the data), in pieces that are
    /// passed to `body` in order, without copying the column into one buffer.
    func forEachChunk(_ body: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        var head: [UInt8] = []
        NativeBlock.appendString(column.name, to: &head)
        NativeBlock.appendString(column.typeName, to: &head)
        if case .lowCardinality = conversion {
            serializeLowCardinality(into: &head)
            try head.withUnsafeBytes(body)
            return
        }
        try head.withUnsafeBytes(body)
        if nullMap.count > 0 { try body(nullMap.bytes) }
        if data.count > 0 { try body(data.bytes) }
    }

    /// The LowCardinality serialization with additional keys (no shared dictionary):
    /// UInt64 key version 1; UInt64 index type | HasAdditionalKeys | NeedUpdateDictionary;
    /// UInt64 key count, the keys as Strings; UInt64 row count, the indexes.
    private func serializeLowCardinality(into out: inout [UInt8]) {
        NativeBlock.appendUInt64(1, to: &out)
        let indexType: UInt64, width: Int
        if dictionarySize <= 1 << 8 { indexType = 0; width = 1 }
        else if dictionarySize <= 1 << 16 { indexType = 1; width = 2 }
        else { indexType = 2; width = 4 }
        NativeBlock.appendUInt64(indexType | 0x200 | 0x400, to: &out)
        NativeBlock.appendUInt64(UInt64(dictionarySize), to: &out)
        out.append(contentsOf: dictionaryData)
        NativeBlock.appendUInt64(UInt64(indexes.count), to: &out)
        out.reserveCapacity(out.count + indexes.count * width)
        for index in indexes {
            switch width {
            case 1: out.append(UInt8(truncatingIfNeeded: index))
            case 2: out.append(UInt8(truncatingIfNeeded: index)); out.append(UInt8(truncatingIfNeeded: index >> 8))
            default: for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: index >> UInt32(shift))) }
            }
        }
    }

    /// Empties the column for the next block, keeping its capacity (bounded by the block limits).
    func reset() {
        rows = 0
        nullMap.count = 0
        data.count = 0
        resetLowCardinality()
    }

    /// Gives memory back.
    func releaseMemory() {
        rows = 0
        nullMap.free()
        data.free()
        resetLowCardinality()
    }
}

/// A growable byte buffer with manual memory (malloc/realloc, doubling): the owner frees it.
/// A value copy shares the memory; the encoder copies it into a local, writes, and stores it back.
struct RawBytes {
    private(set) var base: UnsafeMutablePointer<UInt8>?
    var count = 0
    private(set) var capacity = 0

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Makes room for `n` more bytes and counts them; returns where they start (uninitialized).
    @inline(__always)
    mutating func grow(by n: Int) -> UnsafeMutablePointer<UInt8> {
        if count + n > capacity { reallocate(atLeast: count + n) }
        let p = base! + count
        count += n
        return p
    }

    @inline(__always)
    mutating func shrink(by n: Int) { count -= n }

    private mutating func reallocate(atLeast needed: Int) {
        let newCapacity = Swift.max(needed, capacity * 2, 4096)
        guard let p = realloc(base, newCapacity) else { fatalError("out of memory (\(newCapacity) bytes)") }
        base = p.assumingMemoryBound(to: UInt8.self)
        capacity = newCapacity
    }

    mutating func free() {
        Glibc.free(base)
        base = nil
        count = 0
        capacity = 0
    }
}

/// The Native format's block framing.
enum NativeBlock {
    static func appendVarUInt(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    static func appendString(_ string: String, to out: inout [UInt8]) {
        appendVarUInt(UInt64(string.utf8.count), to: &out)
        out.append(contentsOf: string.utf8)
    }

    static func appendUInt64(_ value: UInt64, to out: inout [UInt8]) {
        var v = value.littleEndian
        withUnsafeBytes(of: &v) { out.append(contentsOf: $0) }
    }

    /// A whole block: column count, row count, then each column.
    static func encode(_ columns: [NativeColumnEncoder], rows: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(columns.reduce(64) { $0 + $1.byteCount + 64 })
        appendVarUInt(UInt64(columns.count), to: &out)
        appendVarUInt(UInt64(rows), to: &out)
        for column in columns { column.serialize(into: &out) }
        return out
    }
}
