import XCTest
import PluginABI
@testable import SluiceArrow

/// One column type: how to make row i's value, append it and read it back.
struct ColumnCase<T: Equatable> {
    var format: ArrowFormat
    var values: [T]
    var append: (ArrowColumnBuilder, T) -> Void
    var read: (ArrowColumnView, Int) -> T
    func value(_ i: Int) -> T { values[i % values.count] }
}

final class ArrowRoundTripTests: XCTestCase {
    static let longString = String(repeating: "0123456789abcdefghijklmnopqrstuvwxyzÄÖÜ🎉", count: 100_000 / 44 + 1)
    static let strings = ["", "a", "hello, world", "héllo wörld", "日本語テキスト", "🎉👨‍👩‍👧", "", "\0inner\0nul", longString, "x"]

    /// Null patterns: (name, row -> isNull) for a batch of n rows.
    static func patterns(_ n: Int) -> [(String, (Int) -> Bool)] {
        [
            ("none", { _ in false }),
            ("first", { $0 == 0 }),
            ("every 8th", { $0 % 8 == 0 }),
            ("every 8th from 7", { $0 % 8 == 7 }),
            ("all", { _ in true }),
            ("irregular", { $0 % 3 == 1 || $0 == 9 }),
            ("last", { $0 == n - 1 }),
        ]
    }
    static let lengths = [0, 1, 7, 8, 9, 16, 17, 100]

    // MARK: - Checking

    /// Checks column `index` of `batch` against the expected values and nulls.
    private func verify<T>(_ batch: ArrowBatch, column index: Int, name: String, _ c: ColumnCase<T>, count n: Int,
                           isNull: (Int) -> Bool, value: (Int) -> T, context: String,
                           file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertTrue(batch.isLive, context, file: file, line: line)
        XCTAssertEqual(batch.length, n, context, file: file, line: line)
        let view = try batch.view()
        XCTAssertEqual(view.length, n, context, file: file, line: line)
        let column = view.columns[index]
        XCTAssertEqual(column.name, name, context, file: file, line: line)
        XCTAssertEqual(column.format, c.format, context, file: file, line: line)
        XCTAssertEqual(column.length, n, context, file: file, line: line)
        XCTAssertTrue(column.nullable, context, file: file, line: line)
        XCTAssertTrue(view.column(named: name).map { $0.format == c.format } ?? false, context, file: file, line: line)

        let expectedNulls = (0..<n).filter(isNull).count
        let child = batch.childArray(index)
        XCTAssertEqual(child.length, Int64(n), context, file: file, line: line)
        XCTAssertEqual(child.offset, 0, context, file: file, line: line)
        XCTAssertEqual(child.null_count, Int64(expectedNulls), context, file: file, line: line)
        XCTAssertEqual(child.n_buffers, c.format.isVariableWidth ? 3 : 2, context, file: file, line: line)
        XCTAssertEqual(String(cString: batch.childSchema(index).format), c.format.formatString, context, file: file, line: line)
        XCTAssertNotNil(child.buffers![1], "value buffer must not be NULL: \(context)", file: file, line: line)
        if c.format.isVariableWidth {
            XCTAssertNotNil(child.buffers![2], "data buffer must not be NULL: \(context)", file: file, line: line)
            XCTAssertEqual(child.buffers![1]!.load(as: Int32.self), 0, "first offset: \(context)", file: file, line: line)
        }
        if expectedNulls == 0 {
            XCTAssertNil(child.buffers![0], "a column without nulls needs no bitmap: \(context)", file: file, line: line)
        } else if let bitmap = child.buffers![0] {
            for i in 0..<n where bit(bitmap, i) == isNull(i) {
                XCTFail("validity bit \(i) is \(bit(bitmap, i)): \(context)", file: file, line: line)
                break
            }
        } else {
            XCTFail("a column with nulls needs a validity bitmap: \(context)", file: file, line: line)
        }

        for i in 0..<n {
            if column.isNull(i) != isNull(i) {
                XCTFail("row \(i) isNull \(column.isNull(i)): \(context)", file: file, line: line)
                return
            }
            if !isNull(i) && c.read(column, i) != value(i) {
                XCTFail("row \(i) reads \(c.read(column, i)) instead of \(value(i)): \(context)", file: file, line: line)
                return
            }
        }
    }

    /// Builds batches of every length and null pattern, reads them back, and copies every row
    /// (in reverse order) into another builder with append(row:of:).
    private func checkRoundTrip<T>(_ c: ColumnCase<T>, file: StaticString = #filePath, line: UInt = #line) throws {
        for n in Self.lengths {
            for (pattern, isNull) in Self.patterns(n) {
                let context = "\(c.format.formatString), \(n) rows, nulls: \(pattern)"
                let column = ArrowColumnBuilder(name: "col", format: c.format)
                let marker = ArrowColumnBuilder(name: "marker", format: .int32, nullable: false, capacity: n)
                for i in 0..<n {
                    if isNull(i) { column.appendNull() } else { c.append(column, c.value(i)) }
                    marker.append(Int64(i))
                }
                XCTAssertEqual(column.count, n, context, file: file, line: line)
                XCTAssertEqual(column.nullCount, (0..<n).filter(isNull).count, context, file: file, line: line)
                let batch = ArrowBatchBuilder(columns: [marker, column]).finish()
                XCTAssertEqual(column.count, 0, "export resets the builder: \(context)", file: file, line: line)
                XCTAssertEqual(column.nullCount, 0, "export resets the builder: \(context)", file: file, line: line)
                try verify(batch, column: 1, name: "col", c, count: n, isNull: isNull, value: c.value, context: context,
                           file: file, line: line)

                // Copy every row, last first.
                let view = try batch.view()
                let copy = ArrowColumnBuilder(name: "copy", format: c.format)
                for i in (0..<n).reversed() { copy.append(row: i, of: view.columns[1]) }
                let copied = ArrowBatchBuilder(columns: [copy]).finish()
                try verify(copied, column: 0, name: "copy", c, count: n, isNull: { isNull(n - 1 - $0) },
                           value: { c.value(n - 1 - $0) }, context: "copy of " + context, file: file, line: line)
                batch.release()
                XCTAssertFalse(batch.isLive)
            }
        }
    }

    private func intCase<T: FixedWidthInteger>(_ format: ArrowFormat, _ type: T.Type) -> ColumnCase<T> {
        ColumnCase(format: format, values: [T.min, T.max, 0, 1, T.min + 1, T.max - 1, 42, T(truncatingIfNeeded: -7)],
                   append: { b, v in
                       if T.isSigned { b.append(Int64(v)) } else { b.append(UInt64(v)) }
                   },
                   read: { col, row in
                       // Both the typed accessor and int64() must agree.
                       let typed = col.fixed(row, as: T.self)
                       XCTAssertEqual(T(truncatingIfNeeded: col.int64(row)), typed, "int64() of row \(row)")
                       return typed
                   })
    }

    // MARK: - Every type

    func testBooleanRoundTrip() throws {
        try checkRoundTrip(ColumnCase(format: .boolean, values: [true, false, false, true, true, true, false],
                                      append: { $0.append($1) }, read: { $0.bool($1) }))
        try checkRoundTrip(ColumnCase(format: .boolean, values: [true], append: { $0.append($1) },
                                      read: { col, row in col.int64(row) == 1 }))
    }

    func testInt8RoundTrip() throws { try checkRoundTrip(intCase(.int8, Int8.self)) }
    func testInt16RoundTrip() throws { try checkRoundTrip(intCase(.int16, Int16.self)) }
    func testInt32RoundTrip() throws { try checkRoundTrip(intCase(.int32, Int32.self)) }
    func testInt64RoundTrip() throws { try checkRoundTrip(intCase(.int64, Int64.self)) }
    func testUInt8RoundTrip() throws { try checkRoundTrip(intCase(.uint8, UInt8.self)) }
    func testUInt16RoundTrip() throws { try checkRoundTrip(intCase(.uint16, UInt16.self)) }
    func testUInt32RoundTrip() throws { try checkRoundTrip(intCase(.uint32, UInt32.self)) }
    func testUInt64RoundTrip() throws { try checkRoundTrip(intCase(.uint64, UInt64.self)) }

    func testExtremeIntegersThroughInt64Accessor() throws {
        let i64 = ArrowColumnBuilder(name: "i64", format: .int64)
        let u64 = ArrowColumnBuilder(name: "u64", format: .uint64)
        let u32 = ArrowColumnBuilder(name: "u32", format: .uint32)
        for (a, b, c) in [(Int64.min, UInt64.max, UInt32.max), (Int64.max, UInt64.min, 0), (-1, UInt64(Int64.max) + 1, 1)] {
            i64.append(a); u64.append(b); u32.append(Int64(c))
        }
        let batch = ArrowBatchBuilder(columns: [i64, u64, u32]).finish()
        defer { keepAlive(batch) }
        let view = try batch.view()
        XCTAssertEqual((0..<3).map { view.columns[0].int64($0) }, [Int64.min, Int64.max, -1])
        XCTAssertEqual((0..<3).map { view.columns[1].fixed($0, as: UInt64.self) }, [UInt64.max, 0, UInt64(Int64.max) + 1])
        XCTAssertEqual((0..<3).map { view.columns[1].int64($0) }, [-1, 0, Int64.min], "uint64 reads as its bit pattern")
        XCTAssertEqual((0..<3).map { view.columns[2].int64($0) }, [Int64(UInt32.max), 0, 1], "uint32 is zero-extended")
    }

    func testFloat32RoundTrip() throws {
        try checkRoundTrip(ColumnCase<Float>(format: .float32,
                                             values: [0, -1.5, 3.25, .greatestFiniteMagnitude, -.infinity, .leastNormalMagnitude, 1e-3],
                                             append: { $0.append(Double($1)) }, read: { $0.fixed($1, as: Float.self) }))
    }

    func testFloat64RoundTrip() throws {
        try checkRoundTrip(ColumnCase<Double>(format: .float64,
                                              values: [0, -0.0, .pi, .greatestFiniteMagnitude, -.infinity, .leastNonzeroMagnitude, -1e300],
                                              append: { $0.append($1) }, read: { $0.fixed($1, as: Double.self) }))
    }

    func testFloatNaNKeepsBeingNaN() throws {
        let f = ArrowColumnBuilder(name: "f", format: .float32)
        let d = ArrowColumnBuilder(name: "d", format: .float64)
        f.append(Double.nan); d.append(Double.nan)
        let batch = ArrowBatchBuilder(columns: [f, d]).finish()
        defer { keepAlive(batch) }
        let view = try batch.view()
        XCTAssertTrue(view.columns[0].fixed(0, as: Float.self).isNaN)
        XCTAssertTrue(view.columns[1].fixed(0, as: Double.self).isNaN)
    }

    func testUtf8RoundTrip() throws {
        try checkRoundTrip(ColumnCase(format: .utf8, values: Self.strings, append: { $0.append($1) }, read: { $0.string($1) }))
    }

    func testBinaryRoundTrip() throws {
        let values: [[UInt8]] = [[], [0], [0xFF, 0x00, 0xFE], Array(0...255), [0xC3], Array(repeating: 0xAB, count: 100_000), []]
        try checkRoundTrip(ColumnCase(format: .binary, values: values,
                                      append: { b, v in v.withUnsafeBytes { b.append(bytes: $0) } },
                                      read: { Array($0.bytes($1)) }))
    }

    func testDate32RoundTrip() throws {
        try checkRoundTrip(ColumnCase<Int64>(format: .date32, values: [0, -719_162, 19_723, Int64(Int32.max), Int64(Int32.min), 1],
                                             append: { $0.append($1) }, read: { $0.int64($1) }))
    }

    func testTimestampRoundTrip() throws {
        for format in [ArrowFormat.timestamp(.microseconds, timeZone: "UTC"), .timestamp(.nanoseconds, timeZone: ""),
                       .timestamp(.milliseconds, timeZone: "Europe/Berlin"), .timestamp(.seconds, timeZone: "")] {
            try checkRoundTrip(ColumnCase<Int64>(format: format, values: [1_700_000_000_000_000, .min, .max, 0, -1],
                                                 append: { $0.append($1) }, read: { $0.int64($1) }))
        }
    }

    // MARK: - Strings

    func testEmptyAndLongAndNonASCIIStringsSideBySide() throws {
        let s = ArrowColumnBuilder(name: "s", format: .utf8)
        s.append("")
        s.append(Self.longString)
        s.append("")
        s.appendNull()
        s.append("Ünïcödé ✓ 中文 🚀")
        s.append("")
        let batch = ArrowBatchBuilder(columns: [s]).finish()
        defer { keepAlive(batch) }
        let column = try batch.view().columns[0]
        XCTAssertGreaterThanOrEqual(Self.longString.utf8.count, 100_000)
        XCTAssertEqual(column.string(0), "")
        XCTAssertEqual(column.bytes(0).count, 0)
        XCTAssertEqual(column.string(1), Self.longString)
        XCTAssertEqual(column.string(2), "")
        XCTAssertTrue(column.isNull(3))
        XCTAssertEqual(column.bytes(3).count, 0, "a null string occupies no bytes")
        XCTAssertEqual(column.string(4), "Ünïcödé ✓ 中文 🚀")
        XCTAssertEqual(column.string(5), "")
        // Offsets are monotonic and the last one is the data length.
        let offsets = batch.childArray(0).buffers![1]!.assumingMemoryBound(to: Int32.self)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: offsets, count: 7)).map(Int.init),
                       [0, 0, Self.longString.utf8.count, Self.longString.utf8.count, Self.longString.utf8.count,
                        Self.longString.utf8.count + "Ünïcödé ✓ 中文 🚀".utf8.count, Self.longString.utf8.count + "Ünïcödé ✓ 中文 🚀".utf8.count])
    }

    func testAllEmptyStringsHaveANonNullDataBuffer() throws {
        for format in [ArrowFormat.utf8, .binary] {
            let s = ArrowColumnBuilder(name: "s", format: format)
            for _ in 0..<5 { s.append("") }
            let batch = ArrowBatchBuilder(columns: [s]).finish()
            defer { keepAlive(batch) }
            XCTAssertNotNil(batch.childArray(0).buffers![2])
            let column = try batch.view().columns[0]
            XCTAssertEqual((0..<5).map { column.bytes($0).count }, [0, 0, 0, 0, 0])
        }
    }

    // MARK: - Batch shapes

    func testZeroRowBatchOfEveryType() throws {
        let formats: [ArrowFormat] = [.boolean, .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64, .float32, .float64,
                                      .utf8, .binary, .date32, .timestamp(.microseconds, timeZone: "UTC")]
        let batch = ArrowBatchBuilder(columns: formats.map { ArrowColumnBuilder(name: $0.formatString, format: $0) }).finish()
        XCTAssertTrue(batch.isLive)
        XCTAssertEqual(batch.length, 0)
        XCTAssertEqual(batch.array.pointee.n_children, Int64(formats.count))
        let view = try batch.view()
        XCTAssertEqual(view.length, 0)
        XCTAssertEqual(view.columns.map(\.format), formats)
        XCTAssertEqual(view.columns.map(\.name), formats.map(\.formatString))
        for i in formats.indices {
            XCTAssertEqual(batch.childArray(i).length, 0)
            XCTAssertEqual(batch.childArray(i).null_count, 0)
            XCTAssertNotNil(batch.childArray(i).buffers![1], "value buffer of \(formats[i].formatString)")
        }
    }

    func testBatchWithoutColumns() throws {
        let batch = ArrowBatchBuilder(columns: []).finish()
        XCTAssertTrue(batch.isLive)
        let view = try batch.view()
        XCTAssertEqual(view.columns.count, 0)
        XCTAssertEqual(view.length, 0)
        XCTAssertEqual(String(cString: batch.schema.pointee.format), "+s")
    }

    func testTenThousandRowBatch() throws {
        let n = 10_000
        let id = ArrowColumnBuilder(name: "id", format: .int64, nullable: false, capacity: n)
        let name = ArrowColumnBuilder(name: "name", format: .utf8)
        let flag = ArrowColumnBuilder(name: "flag", format: .boolean)
        let price = ArrowColumnBuilder(name: "price", format: .float64)
        let small = ArrowColumnBuilder(name: "small", format: .uint8)
        for i in 0..<n {
            id.append(Int64(i) * 1_000_003)
            if i % 7 == 3 { name.appendNull() } else { name.append("name-\(i)-é") }
            if i % 8 == 0 { flag.appendNull() } else { flag.append(i % 3 == 0) }
            price.append(Double(i) / 4)
            if i == n - 1 { small.appendNull() } else { small.append(Int64(i % 256)) }
        }
        let batch = ArrowBatchBuilder(columns: [id, name, flag, price, small]).finish()
        defer { keepAlive(batch) }
        XCTAssertEqual(batch.length, n)
        XCTAssertEqual(batch.childArray(0).null_count, 0)
        XCTAssertNil(batch.childArray(0).buffers![0])
        XCTAssertEqual(batch.childArray(1).null_count, Int64((0..<n).filter { $0 % 7 == 3 }.count))
        XCTAssertEqual(batch.childArray(2).null_count, Int64(n / 8))
        XCTAssertEqual(batch.childArray(3).null_count, 0)
        XCTAssertEqual(batch.childArray(4).null_count, 1)
        let view = try batch.view()
        XCTAssertFalse(view.column(named: "id")!.nullable)
        XCTAssertNil(view.column(named: "missing"))
        let c = view.columns
        for i in 0..<n {
            XCTAssertEqual(c[0].int64(i), Int64(i) * 1_000_003)
            XCTAssertFalse(c[0].isNull(i))
            XCTAssertEqual(c[1].isNull(i), i % 7 == 3)
            if i % 7 != 3 { XCTAssertEqual(c[1].string(i), "name-\(i)-é") }
            XCTAssertEqual(c[2].isNull(i), i % 8 == 0)
            if i % 8 != 0 { XCTAssertEqual(c[2].bool(i), i % 3 == 0) }
            XCTAssertEqual(c[3].fixed(i, as: Double.self), Double(i) / 4)
            XCTAssertEqual(c[4].isNull(i), i == n - 1)
            if i != n - 1 { XCTAssertEqual(c[4].int64(i), Int64(i % 256)) }
        }
    }

    func testBuilderIsReusableAfterExport() throws {
        let s = ArrowColumnBuilder(name: "s", format: .utf8)
        let b = ArrowColumnBuilder(name: "b", format: .boolean)
        s.append("first"); s.appendNull(); b.appendNull(); b.append(true)
        let first = ArrowBatchBuilder(columns: [s, b]).finish()
        // Second batch: no nulls at all, so no bitmap may leak over from the first.
        s.append("second"); s.append(""); s.append("third")
        b.append(false); b.append(true); b.append(true)
        let second = ArrowBatchBuilder(columns: [s, b]).finish()
        defer { keepAlive(first, second) }
        let v1 = try first.view(), v2 = try second.view()
        XCTAssertEqual(v1.length, 2)
        XCTAssertEqual(v1.columns[0].string(0), "first")
        XCTAssertTrue(v1.columns[0].isNull(1))
        XCTAssertTrue(v1.columns[1].isNull(0))
        XCTAssertTrue(v1.columns[1].bool(1))
        XCTAssertEqual(v2.length, 3)
        XCTAssertEqual(second.childArray(0).null_count, 0)
        XCTAssertEqual(second.childArray(1).null_count, 0)
        XCTAssertEqual((0..<3).map { v2.columns[0].string($0) }, ["second", "", "third"])
        XCTAssertEqual((0..<3).map { v2.columns[1].bool($0) }, [false, true, true])
        XCTAssertEqual((0..<3).map { v2.columns[0].isNull($0) }, [false, false, false])
    }

    func testAppendRowCopiesSelectedRowsAcrossTypes() throws {
        // A dead-letter style copy: only some rows, mixed types, into fresh builders.
        let formats: [ArrowFormat] = [.boolean, .int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64, .float32, .float64,
                                      .utf8, .binary, .date32, .timestamp(.nanoseconds, timeZone: "UTC")]
        let n = 20
        let builders = formats.map { ArrowColumnBuilder(name: $0.formatString, format: $0) }
        for (k, builder) in builders.enumerated() {
            for i in 0..<n {
                if (i + k) % 5 == 0 { builder.appendNull(); continue }
                switch builder.format {
                case .boolean: builder.append(i % 2 == 0)
                case .utf8, .binary: builder.append("row \(i) ✓")
                case .float32, .float64: builder.append(Double(i) + 0.5)
                default: builder.append(Int64(i * 3))
                }
            }
        }
        let source = ArrowBatchBuilder(columns: builders).finish()
        defer { keepAlive(source) }
        let view = try source.view()
        let rows = [19, 0, 5, 7, 8, 13, 13]
        let copies = formats.map { ArrowColumnBuilder(name: $0.formatString, format: $0) }
        for row in rows {
            for (k, copy) in copies.enumerated() { copy.append(row: row, of: view.columns[k]) }
        }
        let copiedBatch = ArrowBatchBuilder(columns: copies).finish()
        defer { keepAlive(copiedBatch) }
        let copied = try copiedBatch.view()
        XCTAssertEqual(copied.length, rows.count)
        for (k, format) in formats.enumerated() {
            let src = view.columns[k], dst = copied.columns[k]
            for (j, row) in rows.enumerated() {
                XCTAssertEqual(dst.isNull(j), src.isNull(row), "\(format.formatString) row \(row)")
                guard !src.isNull(row) else { continue }
                switch format {
                case .boolean: XCTAssertEqual(dst.bool(j), src.bool(row))
                case .utf8, .binary: XCTAssertEqual(dst.string(j), src.string(row))
                case .float32: XCTAssertEqual(dst.fixed(j, as: Float.self), src.fixed(row, as: Float.self))
                case .float64: XCTAssertEqual(dst.fixed(j, as: Double.self), src.fixed(row, as: Double.self))
                default: XCTAssertEqual(dst.int64(j), src.int64(row), "\(format.formatString) row \(row)")
                }
            }
        }
    }
}
