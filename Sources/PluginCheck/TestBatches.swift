import Foundation
import PluginABI

/// The shapes of input the checker feeds a sink or transform: what real upstreams produce and
/// what naive readers get wrong.
struct BatchShape {
    var name: StaticString
    var rows: Int
    /// The struct array's own offset; every child is read from `structOffset + childOffset`.
    var structOffset = 0
    var childOffset = 0
    /// Every other row null in each nullable column, and the last nullable column all null.
    var nulls = false

    static let all: [BatchShape] = [
        BatchShape(name: "plain", rows: 8),
        BatchShape(name: "nulls", rows: 9, nulls: true),
        BatchShape(name: "empty", rows: 0),
        BatchShape(name: "sliced: struct offset 2, column offsets 3", rows: 6, structOffset: 2, childOffset: 3, nulls: true),
        BatchShape(name: "unicode", rows: 24),
        BatchShape(name: "1,000 rows", rows: 1000, nulls: true),
    ]
}

/// Builds input batches whose every struct reports its release to the `ReleaseLedger`.
enum TestBatches {
    /// Strings that exercise UTF-8 handling: multi-byte, astral, combining, escapes, empty.
    static let texts = ["plain ascii", "naïve café", "温度センサー", "🌡️ 21.5°C", "quote \" back\\slash",
                        "tab\tnew\nline", "", "e\u{301} combining", "𝄞 ünï ∑ ✓"]

    /// A batch of `shape` over `columns`, moved into `schema` and `array`; returns the ledger
    /// ids of every struct handed over.
    static func make(_ shape: BatchShape, number: Int, columns: [InputColumn],
                     schema: UnsafeMutablePointer<ArrowSchema>, array: UnsafeMutablePointer<ArrowArray>) -> [Int] {
        var ids: [Int] = []
        let physicalRows = shape.structOffset + shape.childOffset + shape.rows
        let lastNullable = columns.lastIndex { $0.nullable }

        var childArrays: [UnsafeMutablePointer<ArrowArray>] = []
        var childSchemas: [UnsafeMutablePointer<ArrowSchema>] = []
        for (index, column) in columns.enumerated() {
            let isNull: (Int) -> Bool = { slot in
                guard shape.nulls, column.nullable else { return false }
                return index == lastNullable || slot % 2 == 1
            }
            let childArray = UnsafeMutablePointer<ArrowArray>.allocate(capacity: 1)
            ids.append(fillColumn(column, rows: physicalRows, isNull: isNull, childOffset: shape.childOffset,
                                  label: .init(batch: shape.name, number: number, column: index, isSchema: false), into: childArray))
            childArrays.append(childArray)

            let childSchema = UnsafeMutablePointer<ArrowSchema>.allocate(capacity: 1)
            let format = strdup(column.format)!, name = strdup(column.name)!
            let id = ReleaseLedger.shared.register(label: .init(batch: shape.name, number: number, column: index, isSchema: true),
                                                   allocations: [UnsafeMutableRawPointer(format), UnsafeMutableRawPointer(name)])
            ids.append(id)
            childSchema.initialize(to: ArrowSchema(
                format: UnsafePointer(format), name: UnsafePointer(name), metadata: nil,
                flags: column.nullable ? Int64(ARROW_FLAG_NULLABLE) : 0, n_children: 0, children: nil, dictionary: nil,
                release: releaseCheckerSchema, private_data: UnsafeMutableRawPointer(bitPattern: id)))
            childSchemas.append(childSchema)
        }

        let format = strdup("+s")!, name = strdup("")!
        let schemaChildren = allocatePointers(childSchemas)
        let schemaID = ReleaseLedger.shared.register(
            label: .init(batch: shape.name, number: number, column: -1, isSchema: true),
            allocations: [UnsafeMutableRawPointer(format), UnsafeMutableRawPointer(name), UnsafeMutableRawPointer(schemaChildren)],
            schemaChildren: childSchemas)
        schema.initialize(to: ArrowSchema(
            format: UnsafePointer(format), name: UnsafePointer(name), metadata: nil, flags: 0,
            n_children: Int64(columns.count), children: schemaChildren.assumingMemoryBound(to: UnsafeMutablePointer<ArrowSchema>?.self),
            dictionary: nil, release: releaseCheckerSchema, private_data: UnsafeMutableRawPointer(bitPattern: schemaID)))

        let structBuffers = malloc(MemoryLayout<UnsafeRawPointer?>.stride)!
        structBuffers.storeBytes(of: nil, as: UnsafeRawPointer?.self)  // no nulls at the struct level
        let arrayChildren = allocatePointers(childArrays)
        let arrayID = ReleaseLedger.shared.register(
            label: .init(batch: shape.name, number: number, column: -1, isSchema: false),
            allocations: [structBuffers, UnsafeMutableRawPointer(arrayChildren)], children: childArrays)
        array.initialize(to: ArrowArray(
            length: Int64(shape.rows), null_count: 0, offset: Int64(shape.structOffset), n_buffers: 1,
            n_children: Int64(columns.count), buffers: structBuffers.assumingMemoryBound(to: UnsafeRawPointer?.self),
            children: arrayChildren.assumingMemoryBound(to: UnsafeMutablePointer<ArrowArray>?.self),
            dictionary: nil, release: releaseCheckerArray, private_data: UnsafeMutableRawPointer(bitPattern: arrayID)))
        return ids + [schemaID, arrayID]
    }

    private static func allocatePointers<T>(_ pointers: [UnsafeMutablePointer<T>]) -> UnsafeMutableRawPointer {
        let block = malloc(max(1, pointers.count) * MemoryLayout<UnsafeMutablePointer<T>>.stride)!
        for (i, p) in pointers.enumerated() {
            block.storeBytes(of: p, toByteOffset: i * MemoryLayout<UnsafeMutablePointer<T>>.stride, as: UnsafeMutablePointer<T>.self)
        }
        return block
    }

    /// One column of `rows` physical slots, its array offset `childOffset`.
    private static func fillColumn(_ column: InputColumn, rows: Int, isNull: (Int) -> Bool, childOffset: Int,
                                   label: ReleaseLedger.Label, into array: UnsafeMutablePointer<ArrowArray>) -> Int {
        // Validity for the slots the batch reads; slots before the offset are valid filler.
        let validity = calloc(max(1, (rows + 7) / 8), 1)!.assumingMemoryBound(to: UInt8.self)
        for slot in 0..<rows {
            let logicalRow = slot - childOffset
            if !(logicalRow >= 0 && isNull(logicalRow)) {
                validity[slot >> 3] |= 1 << UInt8(slot & 7)
            }
        }
        // null_count covers the array's own slots: from its offset to its end.
        let nullCount = (childOffset..<rows).filter { validity[$0 >> 3] & (1 << UInt8($0 & 7)) == 0 }.count

        var buffers: [UnsafeMutableRawPointer?] = [nullCount == 0 ? nil : UnsafeMutableRawPointer(validity)]
        var allocations: [UnsafeMutableRawPointer] = [UnsafeMutableRawPointer(validity)]
        func fixed<T>(_ type: T.Type, _ value: (Int) -> T) {
            let values = malloc(max(1, rows) * MemoryLayout<T>.stride)!
            for slot in 0..<rows { values.storeBytes(of: value(slot), toByteOffset: slot * MemoryLayout<T>.stride, as: T.self) }
            buffers.append(values); allocations.append(values)
        }
        switch column.type {
        case .boolean:
            let bits = calloc(max(1, (rows + 7) / 8), 1)!.assumingMemoryBound(to: UInt8.self)
            for slot in 0..<rows where slot % 3 == 0 { bits[slot >> 3] |= 1 << UInt8(slot & 7) }
            buffers.append(UnsafeMutableRawPointer(bits)); allocations.append(UnsafeMutableRawPointer(bits))
        case .int8: fixed(Int8.self) { Int8(truncatingIfNeeded: $0 * 37 - 100) }
        case .int16: fixed(Int16.self) { Int16(truncatingIfNeeded: $0 * 7919 - 30000) }
        case .int32: fixed(Int32.self) { Int32(truncatingIfNeeded: $0 * 104_729 - 1_000_000) }
        case .int64: fixed(Int64.self) { Int64($0) }
        case .uint8: fixed(UInt8.self) { UInt8(truncatingIfNeeded: $0 * 37) }
        case .uint16: fixed(UInt16.self) { UInt16(truncatingIfNeeded: $0 * 7919) }
        case .uint32: fixed(UInt32.self) { UInt32(truncatingIfNeeded: $0 * 104_729) }
        case .uint64: fixed(UInt64.self) { UInt64($0) * 1_000_003 }
        case .float32: fixed(Float.self) { Float($0) * 1.5 - 10 }
        case .float64: fixed(Double.self) { Double($0) * 0.25 - 40 }
        case .date32: fixed(Int32.self) { 19_700 + Int32($0) }
        case .timestamp(let unit, _):
            let perSecond: Int64 = unit == .seconds ? 1 : unit == .milliseconds ? 1_000 : unit == .microseconds ? 1_000_000 : 1_000_000_000
            fixed(Int64.self) { 1_700_000_000 * perSecond + Int64($0) * perSecond }
        case .utf8, .binary:
            let strings = (0..<rows).map { texts[$0 % texts.count] + " #\($0)" }
            let total = strings.reduce(0) { $0 + $1.utf8.count }
            let offsets = malloc((rows + 1) * 4)!.assumingMemoryBound(to: Int32.self)
            let data = malloc(max(1, total))!.assumingMemoryBound(to: UInt8.self)
            var position = 0
            for (slot, string) in strings.enumerated() {
                offsets[slot] = Int32(position)
                for byte in string.utf8 { data[position] = byte; position += 1 }
            }
            offsets[rows] = Int32(position)
            buffers += [UnsafeMutableRawPointer(offsets), UnsafeMutableRawPointer(data)]
            allocations += [UnsafeMutableRawPointer(offsets), UnsafeMutableRawPointer(data)]
        case .structure, .unsupported:
            preconditionFailure("InputColumn.parseList makes no \(column.type) column")
        }
        let bufferArray = malloc(buffers.count * MemoryLayout<UnsafeRawPointer?>.stride)!
        for (i, b) in buffers.enumerated() {
            bufferArray.storeBytes(of: b.map { UnsafeRawPointer($0) }, toByteOffset: i * MemoryLayout<UnsafeRawPointer?>.stride, as: UnsafeRawPointer?.self)
        }
        allocations.append(bufferArray)
        let id = ReleaseLedger.shared.register(label: label, allocations: allocations)
        array.initialize(to: ArrowArray(
            length: Int64(rows - childOffset), null_count: Int64(nullCount), offset: Int64(childOffset), n_buffers: Int64(buffers.count),
            n_children: 0, buffers: bufferArray.assumingMemoryBound(to: UnsafeRawPointer?.self), children: nil,
            dictionary: nil, release: releaseCheckerArray, private_data: UnsafeMutableRawPointer(bitPattern: id)))
        return id
    }
}
