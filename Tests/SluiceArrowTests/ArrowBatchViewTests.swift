import XCTest
import PluginABI
@testable import SluiceArrow

final class ArrowBatchViewTests: XCTestCase {
    // MARK: - Invalid structs

    func testReleasedSchemaThrows() {
        let hand = HandMadeBatch(columns: [.init(name: "a", format: "i")], schemaReleased: true)
        assertArrowFormatError(["released"]) { _ = try ArrowBatchView(schema: hand.schema, array: hand.array) }
    }

    func testReleasedArrayThrows() {
        let hand = HandMadeBatch(columns: [.init(name: "a", format: "i")], arrayReleased: true)
        assertArrowFormatError(["released"]) { _ = try ArrowBatchView(schema: hand.schema, array: hand.array) }
    }

    func testTopLevelSchemaThatIsNotAStructThrows() {
        for format in ["i", "+l", "s", "", "+S"] {
            let hand = HandMadeBatch(topFormat: format, columns: [.init(name: "a", format: "i")])
            assertArrowFormatError(["\"+s\""]) { _ = try ArrowBatchView(schema: hand.schema, array: hand.array) }
        }
    }

    func testUnsupportedChildFormatThrowsNamingTheColumn() {
        for format in ["w:16", "d:10,2", "U", "tdm", "x"] {
            let hand = HandMadeBatch(columns: [.init(name: "ok", format: "l"), .init(name: "weird_col", format: format)])
            assertArrowFormatError(["'weird_col'", "\"\(format)\""]) {
                _ = try ArrowBatchView(schema: hand.schema, array: hand.array)
            }
        }
    }

    func testNestedStructColumnThrowsNamingTheColumn() {
        let hand = HandMadeBatch(columns: [.init(name: "nested", format: "+s")])
        assertArrowFormatError(["'nested'", "struct"]) { _ = try ArrowBatchView(schema: hand.schema, array: hand.array) }
    }

    func testWrongBufferCountThrowsNamingTheColumn() {
        let strings = HandMadeBatch(columns: [.init(name: "text", format: "u", nBuffers: 2)])
        assertArrowFormatError(["'text'", "2 buffers", "expected 3"]) {
            _ = try ArrowBatchView(schema: strings.schema, array: strings.array)
        }
        let ints = HandMadeBatch(columns: [.init(name: "num", format: "i", nBuffers: 3)])
        assertArrowFormatError(["'num'", "expected 2"]) { _ = try ArrowBatchView(schema: ints.schema, array: ints.array) }
    }

    func testMissingValueBufferThrowsNamingTheColumn() {
        let hand = HandMadeBatch(columns: [.init(name: "vals", format: "g", hasValues: false)])
        assertArrowFormatError(["'vals'", "value buffer"]) { _ = try ArrowBatchView(schema: hand.schema, array: hand.array) }
    }

    func testChildShorterThanBatchThrowsNamingTheColumn() {
        let hand = HandMadeBatch(length: 5, columns: [.init(name: "short", format: "i", length: 3)])
        assertArrowFormatError(["'short'", "3 rows", "5"]) { _ = try ArrowBatchView(schema: hand.schema, array: hand.array) }
    }

    func testSchemaAndArrayChildCountMismatchThrows() {
        let hand = HandMadeBatch(columns: [.init(name: "a", format: "i")], arrayChildCount: 2)
        assertArrowFormatError(["1 columns", "2"]) { _ = try ArrowBatchView(schema: hand.schema, array: hand.array) }
    }

    func testValidHandMadeBatchReads() throws {
        let hand = HandMadeBatch(columns: [.init(name: "a", format: "i"), .init(name: "b", format: "u", nBuffers: 3),
                                           .init(name: "t", format: "tsm:UTC")])
        defer { keepAlive(hand) }
        let view = try ArrowBatchView(schema: hand.schema, array: hand.array)
        XCTAssertEqual(view.length, 3)
        XCTAssertEqual(view.columns.map(\.name), ["a", "b", "t"])
        XCTAssertEqual(view.columns.map(\.format), [.int32, .utf8, .timestamp(.milliseconds, timeZone: "UTC")])
        XCTAssertEqual((0..<3).map { view.columns[0].int64($0) }, [0, 0, 0])
        XCTAssertEqual((0..<3).map { view.columns[1].string($0) }, ["", "", ""])
        XCTAssertTrue(view.columns.allSatisfy { $0.nullable })
    }

    // MARK: - Struct offset

    /// Rows 0..<n: id = i*10, text "t<i>" or null every 3rd, flag i%2==0 or null every 4th,
    /// small uint16 = i, price = i/2.
    private func offsetSourceBatch(_ n: Int) -> ArrowBatch {
        let id = ArrowColumnBuilder(name: "id", format: .int32)
        let text = ArrowColumnBuilder(name: "text", format: .utf8)
        let flag = ArrowColumnBuilder(name: "flag", format: .boolean)
        let small = ArrowColumnBuilder(name: "small", format: .uint16)
        let price = ArrowColumnBuilder(name: "price", format: .float64)
        for i in 0..<n {
            id.append(Int64(i * 10))
            if i % 3 == 0 { text.appendNull() } else { text.append("t\(i)") }
            if i % 4 == 1 { flag.appendNull() } else { flag.append(i % 2 == 0) }
            small.append(Int64(i))
            price.append(Double(i) / 2)
        }
        return ArrowBatchBuilder(columns: [id, text, flag, small, price]).finish()
    }

    private func checkOffsetView(_ view: ArrowBatchView, offset: Int, count: Int, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(view.length, count, file: file, line: line)
        let c = view.columns
        for r in 0..<count {
            let i = r + offset
            XCTAssertEqual(c[0].int64(r), Int64(i * 10), "id row \(r)", file: file, line: line)
            XCTAssertEqual(c[1].isNull(r), i % 3 == 0, "text null row \(r)", file: file, line: line)
            if i % 3 != 0 { XCTAssertEqual(c[1].string(r), "t\(i)", "text row \(r)", file: file, line: line) }
            XCTAssertEqual(c[2].isNull(r), i % 4 == 1, "flag null row \(r)", file: file, line: line)
            if i % 4 != 1 { XCTAssertEqual(c[2].bool(r), i % 2 == 0, "flag row \(r)", file: file, line: line) }
            XCTAssertEqual(c[3].int64(r), Int64(i), "small row \(r)", file: file, line: line)
            XCTAssertEqual(c[4].fixed(r, as: Double.self), Double(i) / 2, "price row \(r)", file: file, line: line)
        }
    }

    func testStructArrayWithOffsetIsReadCorrectly() throws {
        for offset in [2, 3, 8, 9] {
            let n = 20
            let batch = offsetSourceBatch(n)
            batch.array.pointee.offset = Int64(offset)
            batch.array.pointee.length = Int64(n - offset)
            XCTAssertEqual(batch.length, n - offset)
            checkOffsetView(try batch.view(), offset: offset, count: n - offset)
            keepAlive(batch)
        }
    }

    func testStructArrayWithOffsetAndShorterLength() throws {
        let batch = offsetSourceBatch(20)
        batch.array.pointee.offset = 2
        batch.array.pointee.length = 5  // rows 2..<7 only
        checkOffsetView(try batch.view(), offset: 2, count: 5)
        keepAlive(batch)
    }

    func testAppendRowFromOffsetViewCopiesTheRightRows() throws {
        let batch = offsetSourceBatch(20)
        batch.array.pointee.offset = 2
        batch.array.pointee.length = 18
        let view = try batch.view()
        let copies = view.columns.map { ArrowColumnBuilder(name: $0.name, format: $0.format) }
        for r in 0..<view.length {
            for (k, copy) in copies.enumerated() { copy.append(row: r, of: view.columns[k]) }
        }
        let copied = ArrowBatchBuilder(columns: copies).finish()
        XCTAssertEqual(copied.array.pointee.offset, 0)
        checkOffsetView(try copied.view(), offset: 2, count: 18)
        keepAlive(batch, copied)
    }

    func testStructOffsetBeyondChildLengthThrows() {
        let batch = offsetSourceBatch(10)
        batch.array.pointee.offset = 2  // length stays 10: rows 2..<12 do not exist
        assertArrowFormatError(["'id'", "10 rows", "12"]) { _ = try batch.view() }
        batch.array.pointee.offset = 0  // restore before the batch is released
    }
}
