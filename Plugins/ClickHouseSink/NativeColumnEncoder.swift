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
    private(set) var nullMap: [UInt8] = []
    private(set) var data: [UInt8] = []
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

    static func incompatibleMessage(arrowName: String, arrowFormat: ArrowFormat, column: TableColumn) -> String {
        let target = arrowName == column.name ? "" : " (mapped to table column '\(column.name)')"
        return "column '\(arrowName)'\(target): Arrow type \(ArrowSourceColumn.describe(arrowFormat)) cannot be converted to ClickHouse type \(column.typeName)"
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
            if hasNulls {
                nullMap.reserveCapacity(nullMap.count + count)
                for row in range { nullMap.append(source.isNull(row) ? 1 : 0) }
            } else {
                nullMap.append(contentsOf: repeatElement(0, count: count))
            }
        }
        switch conversion {
        case .copy(let width):
            let start = data.count
            data.append(contentsOf: UnsafeRawBufferPointer(start: source.values! + (range.lowerBound + source.offset) * width, count: count * width))
            if hasNulls && !nullable {
                // null_as_default: a NULL becomes the type's zero.
                data.withUnsafeMutableBytes { raw in
                    for row in range where source.isNull(row) {
                        let at = start + (row - range.lowerBound) * width
                        for i in 0..<width { raw[at + i] = 0 }
                    }
                }
            }
        case .integer(let multiplier, let divisor, let min, let max, let width):
            data.reserveCapacity(data.count + count * width)
            for row in range {
                if hasNulls && source.isNull(row) { appendZeros(width); continue }
                let v = source.integer(row)
                let stored: UInt64
                if v.isUnsigned {
                    if multiplier == 1 && divisor == 1 {
                        guard v.unsigned <= max else { throw outOfRange(row, String(v.unsigned)) }
                        stored = v.unsigned
                    } else {
                        guard v.unsigned <= UInt64(Int64.max) else { throw outOfRange(row, String(v.unsigned)) }
                        stored = try scaled(Int64(v.unsigned), multiplier, divisor, min, max, row: row)
                    }
                } else if multiplier == 1 && divisor == 1 {
                    guard v.signed >= min, v.signed < 0 || UInt64(v.signed) <= max else { throw outOfRange(row, String(v.signed)) }
                    stored = UInt64(bitPattern: v.signed)
                } else {
                    stored = try scaled(v.signed, multiplier, divisor, min, max, row: row)
                }
                appendLittleEndian(stored, width: width)
            }
        case .float32:
            data.reserveCapacity(data.count + count * 4)
            for row in range {
                let value = hasNulls && source.isNull(row) ? 0 : Float(source.double(row))
                appendLittleEndian(UInt64(value.bitPattern), width: 4)
            }
        case .float64:
            data.reserveCapacity(data.count + count * 8)
            for row in range {
                let value = hasNulls && source.isNull(row) ? 0 : source.double(row)
                appendLittleEndian(value.bitPattern, width: 8)
            }
        case .string:
            for row in range {
                if hasNulls && source.isNull(row) { data.append(0); continue }
                let bytes = source.bytes(row)
                appendVarUInt(UInt64(bytes.count))
                data.append(contentsOf: bytes)
            }
        case .fixedString(let n):
            data.reserveCapacity(data.count + count * n)
            for row in range {
                if hasNulls && source.isNull(row) { appendZeros(n); continue }
                let bytes = source.bytes(row)
                guard bytes.count <= n else {
                    throw ConversionError(description: "column '\(arrowName)': row \(row) has \(bytes.count) bytes, more than ClickHouse column '\(column.name)' \(column.typeName) holds")
                }
                data.append(contentsOf: bytes)
                appendZeros(n - bytes.count)
            }
        case .lowCardinality:
            indexes.reserveCapacity(indexes.count + count)
            for row in range {
                if hasNulls && source.isNull(row) {
                    indexes.append(nullable ? 0 : defaultIndex)
                    continue
                }
                indexes.append(dictionaryIndex(source.bytes(row)))
            }
        }
        rows += count
    }

    private func outOfRange(_ row: Int, _ value: String) -> ConversionError {
        let target = type.base
        let range = target.integerRange.map { " (\($0.min)...\($0.max))" } ?? ""
        return ConversionError(description: "column '\(arrowName)': row \(row) has the value \(value) (Arrow \(ArrowSourceColumn.describe(arrowFormat))), which does not fit ClickHouse column '\(column.name)' of type \(column.typeName)\(range)")
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

    @inline(__always)
    private func appendLittleEndian(_ value: UInt64, width: Int) {
        var v = value.littleEndian
        withUnsafeBytes(of: &v) { data.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[0..<width])) }
    }

    @inline(__always)
    private func appendZeros(_ n: Int) {
        if n > 0 { data.append(contentsOf: repeatElement(0, count: n)) }
    }

    private func appendVarUInt(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            data.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        data.append(UInt8(v))
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
        NativeBlock.appendString(column.name, to: &out)
        NativeBlock.appendString(column.typeName, to: &out)
        if case .lowCardinality = conversion {
            serializeLowCardinality(into: &out)
            return
        }
        out.append(contentsOf: nullMap)
        out.append(contentsOf: data)
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

    /// Empties the column for the next block, keeping its capacity.
    func reset() {
        rows = 0
        nullMap.removeAll(keepingCapacity: true)
        data.removeAll(keepingCapacity: true)
        resetLowCardinality()
    }

    /// Gives memory back (after a big block).
    func releaseMemory() {
        nullMap = []
        data = []
        resetLowCardinality()
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
