import PluginABI
import XCTest
@testable import PluginCheck

/// The Arrow checks on hand-built structs: what the specification allows passes, each way of
/// breaking it is named.
final class ArrowValidationTests: XCTestCase {
    /// A batch of one utf8 column built from `strings`, with a validity bitmap when `nulls` is
    /// given; the closure may damage it before validation.
    private func validate(strings: [String], nulls: [Bool]? = nil, nullCount: Int64? = nil, format: String = "u",
                          damage: (UnsafeMutablePointer<ArrowArray>, UnsafeMutablePointer<ArrowSchema>) -> Void = { _, _ in }) -> [String] {
        var offsets: [Int32] = [0]
        var data: [UInt8] = []
        for s in strings { data += Array(s.utf8); offsets.append(Int32(data.count)) }
        var bitmap: [UInt8] = [0]
        for (i, isNull) in (nulls ?? []).enumerated() where !isNull { bitmap[0] |= 1 << UInt8(i) }
        return offsets.withUnsafeBufferPointer { offsetBuffer in
            data.withUnsafeBufferPointer { dataBuffer in
                bitmap.withUnsafeBufferPointer { bitmapBuffer in
                    var buffers: [UnsafeRawPointer?] = [nulls == nil ? nil : UnsafeRawPointer(bitmapBuffer.baseAddress),
                                                        UnsafeRawPointer(offsetBuffer.baseAddress), UnsafeRawPointer(dataBuffer.baseAddress)]
                    return buffers.withUnsafeMutableBufferPointer { bufferPointers in
                        let noop: @convention(c) (UnsafeMutablePointer<ArrowArray>?) -> Void = { _ in }
                        let noopSchema: @convention(c) (UnsafeMutablePointer<ArrowSchema>?) -> Void = { _ in }
                        let childArray = UnsafeMutablePointer<ArrowArray>.allocate(capacity: 1)
                        let computed = Int64((nulls ?? []).filter { $0 }.count)
                        childArray.initialize(to: ArrowArray(length: Int64(strings.count), null_count: nullCount ?? computed, offset: 0, n_buffers: 3,
                                                             n_children: 0, buffers: bufferPointers.baseAddress, children: nil, dictionary: nil,
                                                             release: noop, private_data: nil))
                        let childSchema = UnsafeMutablePointer<ArrowSchema>.allocate(capacity: 1)
                        childSchema.initialize(to: ArrowSchema(format: strdup(format), name: strdup("text"), metadata: nil, flags: 2, n_children: 0,
                                                               children: nil, dictionary: nil, release: noopSchema, private_data: nil))
                        var arrayChildren: [UnsafeMutablePointer<ArrowArray>?] = [childArray]
                        var schemaChildren: [UnsafeMutablePointer<ArrowSchema>?] = [childSchema]
                        var structBuffers: [UnsafeRawPointer?] = [nil]
                        return arrayChildren.withUnsafeMutableBufferPointer { ac in
                            schemaChildren.withUnsafeMutableBufferPointer { sc in
                                structBuffers.withUnsafeMutableBufferPointer { sb in
                                    var array = ArrowArray(length: Int64(strings.count), null_count: 0, offset: 0, n_buffers: 1, n_children: 1,
                                                           buffers: sb.baseAddress, children: ac.baseAddress, dictionary: nil, release: noop, private_data: nil)
                                    var schema = ArrowSchema(format: strdup("+s"), name: nil, metadata: nil, flags: 0, n_children: 1,
                                                             children: sc.baseAddress, dictionary: nil, release: noopSchema, private_data: nil)
                                    damage(childArray, childSchema)
                                    return ArrowValidation.batchProblems(schema: &schema, array: &array)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    func testAValidBatchPasses() {
        XCTAssertEqual(validate(strings: ["a", "ünï", "🌊", ""]), [])
        XCTAssertEqual(validate(strings: ["a", "b", "c"], nulls: [false, true, false]), [])
    }

    func testNullCountMustMatchTheBitmap() {
        let problems = validate(strings: ["a", "b", "c"], nulls: [false, true, false], nullCount: 2)
        XCTAssertEqual(problems.count, 1, "\(problems)")
        XCTAssertTrue(problems[0].contains("null_count is 2 but the validity bitmap has 1 nulls"), problems[0])
    }

    func testNullsNeedABitmap() {
        let problems = validate(strings: ["a", "b"], nullCount: 1)
        XCTAssertTrue(problems.contains { $0.contains("there is no validity bitmap") }, "\(problems)")
    }

    func testOffsetsMustNotDecrease() {
        let problems = validate(strings: ["ab", "cd", "ef"]) { array, _ in
            UnsafeMutableRawPointer(mutating: array.pointee.buffers![1]!).storeBytes(of: Int32(5), toByteOffset: 4, as: Int32.self)
        }
        XCTAssertTrue(problems.contains { $0.contains("offsets decrease") }, "\(problems)")
    }

    func testUnreadableBuffersAreReported() {
        let problems = validate(strings: ["ab"]) { array, _ in
            UnsafeMutableRawPointer(mutating: array.pointee.buffers!).storeBytes(of: UnsafeRawPointer(bitPattern: 0x10), toByteOffset: 16, as: UnsafeRawPointer?.self)
        }
        XCTAssertTrue(problems.contains { $0.contains("the data buffer is not readable") }, "\(problems)")
    }

    func testUTF8ColumnsHoldUTF8() {
        let problems = validate(strings: ["ok", "bad"]) { array, _ in
            UnsafeMutableRawPointer(mutating: array.pointee.buffers![2]!).storeBytes(of: UInt8(0xFF), toByteOffset: 2, as: UInt8.self)
        }
        XCTAssertTrue(problems.contains { $0.contains("row 1 is not valid UTF-8") }, "\(problems)")
        XCTAssertEqual(validate(strings: ["\u{FF}"], format: "z"), [], "binary may hold any bytes")
    }

    func testFormatsAndBufferCountsAreChecked() {
        XCTAssertTrue(validate(strings: ["a"], format: "q").contains { $0.contains("is not an Arrow format string") })
        XCTAssertTrue(validate(strings: ["a"], format: "l").contains { $0.contains("has 2 buffers, the array has 3") })
        XCTAssertTrue(validate(strings: ["a"]) { array, _ in array.pointee.release = nil }.contains { $0.contains("released") })
    }

    func testLayoutsOfTheSpecification() {
        XCTAssertEqual(ArrowLayout(format: "d:38,10"), .fixed(byteWidth: 16))
        XCTAssertEqual(ArrowLayout(format: "d:9,2,32"), .fixed(byteWidth: 4))
        XCTAssertEqual(ArrowLayout(format: "w:12"), .fixed(byteWidth: 12))
        XCTAssertEqual(ArrowLayout(format: "tsu:Europe/Paris"), .fixed(byteWidth: 8))
        XCTAssertEqual(ArrowLayout(format: "U"), .variable(offsetWidth: 8, isUTF8: true))
        XCTAssertEqual(ArrowLayout(format: "+w:3"), .fixedList(size: 3))
        XCTAssertNil(ArrowLayout(format: "d:1"))
        XCTAssertNil(ArrowLayout(format: "tsx:"))
    }

    func testInputColumnsParse() throws {
        let columns = try InputColumn.parseList("a:int64, b:string?,c:timestamp[us]")
        XCTAssertEqual(columns.map(\.format), ["l", "u", "tsu:"])
        XCTAssertEqual(columns.map(\.nullable), [false, true, false])
        XCTAssertThrowsError(try InputColumn.parseList("a:int64,a:bool"))
        XCTAssertThrowsError(try InputColumn.parseList("nocolon"))
        XCTAssertThrowsError(try InputColumn.parseList(""))
    }

    func testTheProtocolRoundTrips() {
        let result = CheckResult(id: "data", outcome: .failed, details: ["a \"quoted\"\nline"], notes: ["n"])
        guard case .result(let parsed) = CheckProtocol.parse(CheckProtocol.resultLine(result)) else { return XCTFail("not parsed") }
        XCTAssertEqual(parsed, result)
        guard case .begin("leaks") = CheckProtocol.parse(CheckProtocol.beginLine("leaks")) else { return XCTFail("begin") }
        guard case .other("plugin says hi") = CheckProtocol.parse("plugin says hi") else { return XCTFail("other") }
    }
}
