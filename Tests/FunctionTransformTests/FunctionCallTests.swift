import Foundation
import PluginTestSupport
import XCTest
@testable import FunctionTransform
import PluginKit

/// Real calls through libffi: libm and the fixture library, every supported type, nulls,
/// literals, strings, replaced columns and rejected rows.
final class FunctionCallTests: XCTestCase {
    private let host = FakeHost(operatorName: "fn")

    private func transform(_ library: String, _ symbol: String, _ signature: String, args: String, output: String = "out",
                           extra: String = "") throws -> FunctionTransform {
        let json = #"{"library":"\#(library)","symbol":"\#(symbol)","signature":"\#(signature)","args":\#(args),"output":"\#(output)"\#(extra)}"#
        let c = try config(json)
        try FunctionTransform.validate(c)
        return try FunctionTransform(config: c, host: host.pluginHost)
    }

    private func run(_ t: FunctionTransform, _ columns: [(String, TestColumn)], column: String = "out") throws -> [AnyHashable?] {
        try values(try t.process(makeBatch(columns)), column)
    }

    // MARK: - libm

    func testLibmCbrtOverADoubleColumn() throws {
        let t = try transform("libm.so.6", "cbrt", "double(double)", args: #"["temperature"]"#, output: "temperature_cbrt")
        let out = try t.process(makeBatch([("temperature", .float64([27, -8, 0.001, 1e9]))]))
        XCTAssertEqual(try values(out, "temperature_cbrt") as? [Double], [27, -8, 0.001, 1e9].map { cbrt($0) }, "the same libm cbrt")
        XCTAssertEqual(try values(out, "temperature") as? [Double], [27, -8, 0.001, 1e9], "the input column is kept")
        XCTAssertEqual(try out.view().columns.map(\.name), ["temperature", "temperature_cbrt"])
    }

    func testLibmWithMixedParametersAndConversions() throws {
        // double ldexp(double, int): an int64 column into int, range-checked; a literal exponent.
        let ldexp = try transform("libm.so.6", "ldexp", "double(double, int)", args: #"["x", "e"]"#)
        XCTAssertEqual(try run(ldexp, [("x", .float32([1.5, 3])), ("e", .int64([2, -1]))]) as? [Double], [6, 1.5])
        let literal = try transform("libm.so.6", "ldexp", "double(double x, int exp)", args: #"["x", 3]"#)
        XCTAssertEqual(try run(literal, [("x", .int32([1, 2]))]) as? [Double], [8, 16])
        // long lround(double) -> int64; float cbrtf(float)
        XCTAssertEqual(try run(try transform("libm.so.6", "lround", "long(double)", args: #"["x"]"#), [("x", .float64([2.5, -2.5, 7.2]))]) as? [Int64], [3, -3, 7])
        XCTAssertEqual(try run(try transform("libm.so.6", "cbrtf", "float(float)", args: #"["x"]"#), [("x", .float64([27, 64]))]) as? [Float], [3, 4])
        // A literal-only call: every row gets the same value.
        XCTAssertEqual(try run(try transform("libm.so.6", "pow", "double(double, double)", args: #"[2, 10]"#), [("x", .int8([1, 2]))]) as? [Double], [1024, 1024])
    }

    func testFastAndGeneralPathsAlternate() throws {
        // float64 without nulls into double: libffi reads the column in place; a batch with a
        // null takes the general path; the literal keeps its slot across both.
        let t = try transform("libm.so.6", "pow", "double(double, double)", args: #"["x", 2]"#)
        for _ in 0..<3 {
            XCTAssertEqual(try run(t, [("x", .float64([1, 2, 3]))]) as? [Double], [1, 4, 9])
            XCTAssertEqual(try run(t, [("x", .float64([4, nil, 5]))]), [16.0, nil, 25.0])
            XCTAssertEqual(try run(t, [("x", .int32([6]))]) as? [Double], [36])
        }
        let sum = try transform(FnFixtures.types, "neg_i64", "int64_t(int64_t)", args: #"["x"]"#)
        XCTAssertEqual(try run(sum, [("x", .int64(Array(0..<5000)))]) as? [Int64], (0..<5000).map { -Int64($0) })
    }

    // MARK: - Every type

    func testEverySupportedScalarTypeAsArgumentAndResult() throws {
        let lib = FnFixtures.types
        XCTAssertEqual(try run(try transform(lib, "neg_i8", "int8_t(int8_t)", args: #"["x"]"#), [("x", .int8([5, -128, 127]))]) as? [Int8], [-5, -128, -127])
        XCTAssertEqual(try run(try transform(lib, "neg_i16", "int16_t(int16_t)", args: #"["x"]"#), [("x", .int16([300, -2]))]) as? [Int16], [-300, 2])
        XCTAssertEqual(try run(try transform(lib, "neg_i32", "int32_t(int32_t)", args: #"["x"]"#), [("x", .int32([70000, -1]))]) as? [Int32], [-70000, 1])
        XCTAssertEqual(try run(try transform(lib, "neg_i64", "int64_t(int64_t)", args: #"["x"]"#), [("x", .int64([1 << 40, -3]))]) as? [Int64], [-(1 << 40), 3])
        XCTAssertEqual(try run(try transform(lib, "inc_u8", "uint8_t(uint8_t)", args: #"["x"]"#), [("x", .uint8([1, 255]))]) as? [UInt8], [2, 0])
        XCTAssertEqual(try run(try transform(lib, "inc_u16", "uint16(uint16)", args: #"["x"]"#), [("x", .uint16([65534]))]) as? [UInt16], [65535])
        XCTAssertEqual(try run(try transform(lib, "inc_u32", "uint32_t(uint32_t)", args: #"["x"]"#), [("x", .uint32([4_000_000_000]))]) as? [UInt32], [4_000_000_001])
        XCTAssertEqual(try run(try transform(lib, "inc_u64", "uint64_t(uint64_t)", args: #"["x"]"#), [("x", .uint64([UInt64.max - 1]))]) as? [UInt64], [UInt64.max])
        XCTAssertEqual(try run(try transform(lib, "half_f", "float(float)", args: #"["x"]"#), [("x", .float32([3]))]) as? [Float], [1.5])
        XCTAssertEqual(try run(try transform(lib, "half_d", "double(double)", args: #"["x"]"#), [("x", .float64([3]))]) as? [Double], [1.5])
        XCTAssertEqual(try run(try transform(lib, "not_b", "bool(bool)", args: #"["x"]"#), [("x", .bool([true, false, true]))]) as? [Bool], [false, true, false])
        XCTAssertEqual(try run(try transform(lib, "is_even", "bool(int64_t)", args: #"["x"]"#), [("x", .int64([(0..<20).map { Int64($0) }].flatMap { $0 }))]) as? [Bool],
                       (0..<20).map { $0 % 2 == 0 })
        XCTAssertEqual(try run(try transform(lib, "length_of", "size_t(const char*)", args: #"["s"]"#), [("s", .utf8(["", "héllo"]))]) as? [UInt64], [0, 6])
    }

    func testAllTypesInOneCall() throws {
        let t = try transform(FnFixtures.types, "mix",
                              "double(int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t, float, double, bool, const char*)",
                              args: #"["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "s"]"#)
        let out = try run(t, [("a", .int8([1])), ("b", .int16([2])), ("c", .int32([3])), ("d", .int64([4])), ("e", .uint8([5])),
                              ("f", .uint16([6])), ("g", .uint32([7])), ("h", .uint64([8])), ("i", .float32([0.25])), ("j", .float64([0.125])),
                              ("k", .bool([true])), ("s", .utf8(["abc"]))])
        XCTAssertEqual(out as? [Double], [1 + 20 + 300 + 4000 + 5 + 6 + 7 + 8 + 0.25 + 0.125 + 0.5 + 3e6])
        // The same with literals in every position.
        let literals = try transform(FnFixtures.types, "mix",
                                     "double(int8_t, int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t, float, double, bool, const char*)",
                                     args: #"[1, 2, 3, 4, 5, 6, 7, 8, 0.25, 0.125, true, {"literal": "abc"}]"#)
        XCTAssertEqual(try run(literals, [("x", .int8([0, 0]))]) as? [Double], Array(repeating: 1 + 20 + 300 + 4000 + 5 + 6 + 7 + 8 + 0.25 + 0.125 + 0.5 + 3e6, count: 2))
    }

    // MARK: - Strings

    func testStringResultsFreedOrStatic() throws {
        let shout = try transform(FnFixtures.types, "shout", "char*(const char*)", args: #"["s"]"#, extra: #","free":"counting_free""#)
        XCTAssertEqual(try run(shout, [("s", .utf8(["abc", "", "Hello, wörld"]))]) as? [String], ["ABC", "", "HELLO, WöRLD"])
        let frees = try transform(FnFixtures.types, "free_count", "int32_t(int32_t)", args: "[0]")
        XCTAssertEqual(try run(frees, [("x", .int8([0]))]) as? [Int32], [3], "every result string was freed once")

        let names = try transform(FnFixtures.types, "name_of", "const char*(int32_t)", args: #"["x"]"#, extra: #","static":true"#)
        XCTAssertEqual(try run(names, [("x", .int64([1, 0, 3, 9]))]), ["one", nil, "three", "many"], "a NULL result is a null")

        let label = try transform(FnFixtures.calibration, "sensor_label", "char*(const char*, int64_t)", args: #"[{"literal": "sensor"}, "id"]"#,
                                  extra: #","free":"calibrate_free""#)
        XCTAssertEqual(try run(label, [("id", .int64([7, 42]))]) as? [String], ["sensor-7", "sensor-42"])
    }

    func testLongStringsGrowTheScratchBuffer() throws {
        let t = try transform(FnFixtures.types, "length_of", "size_t(const char*)", args: #"["s"]"#)
        let long = String(repeating: "x", count: 100_000)
        XCTAssertEqual(try run(t, [("s", .utf8(["a", long, "bc", long + long]))]) as? [UInt64], [1, 100_000, 2, 200_000])
    }

    // MARK: - Nulls

    func testNullArgumentGivesNullUnlessOnNullCall() throws {
        let t = try transform(FnFixtures.types, "neg_i32", "int32_t(int32_t)", args: #"["x"]"#)
        XCTAssertEqual(try run(t, [("x", .int32([1, nil, 3]))]), [Int32(-1), nil, Int32(-3)])
        let call = try transform(FnFixtures.types, "neg_i32", "int32_t(int32_t)", args: #"["x"]"#, extra: #","on_null":"call""#)
        XCTAssertEqual(try run(call, [("x", .int32([1, nil, 3]))]), [Int32(-1), Int32(0), Int32(-3)])
        let strings = try transform(FnFixtures.types, "length_of", "size_t(const char*)", args: #"["s"]"#, extra: #","on_null":"call""#)
        XCTAssertEqual(try run(strings, [("s", .utf8(["ab", nil]))]), [UInt64(2), UInt64(0)])
        let bools = try transform(FnFixtures.types, "not_b", "bool(bool)", args: #"["b"]"#, extra: #","on_null":"call""#)
        XCTAssertEqual(try run(bools, [("b", .bool([nil, true]))]), [true, false])
        // Two arguments, nulls in either: the row is null, the other rows are computed.
        let two = try transform("libm.so.6", "pow", "double(double, double)", args: #"["a", "b"]"#)
        XCTAssertEqual(try run(two, [("a", .float64([2, nil, 2, 3])), ("b", .float64([3, 1, nil, 2]))]), [8.0, nil, nil, 9.0])
        let out = try two.process(makeBatch([("a", .float64([2, nil])), ("b", .float64([3, 1]))]))
        XCTAssertEqual(try out.view().column(named: "out")?.nullable, true)
    }

    // MARK: - Output column

    func testReplacingAnExistingColumnKeepsItsPositionAndChangesItsType() throws {
        let t = try transform("libm.so.6", "cbrt", "double(double)", args: #"["value"]"#, output: "value")
        let out = try t.process(makeBatch([("id", .int64([1, 2])), ("value", .int64([27, 64])), ("tag", .utf8(["a", "b"]))]))
        let view = try out.view()
        XCTAssertEqual(view.columns.map(\.name), ["id", "value", "tag"])
        XCTAssertEqual(view.columns.map(\.format), [.int64, .float64, .utf8])
        XCTAssertEqual(try values(out, "value") as? [Double], [27.0, 64.0].map { cbrt($0) })
        XCTAssertEqual(try values(out, "tag") as? [String], ["a", "b"])
    }

    func testInputBuffersAreBorrowedAndReleasedOnce() throws {
        let t = try transform("libm.so.6", "cbrt", "double(double)", args: #"["x"]"#)
        for _ in 0..<100 {
            let out = try t.process(makeBatch([("x", .float64((0..<1000).map { Double($0) }))]))
            // Moving a child out and releasing the parent first must be safe.
            let child = UnsafeMutablePointer<ArrowArray>.allocate(capacity: 1)
            child.initialize(to: out.array.pointee.children![0]!.pointee)
            out.array.pointee.children![0]!.pointee.release = nil
            out.release()
            XCTAssertEqual(child.pointee.length, 1000)
            XCTAssertEqual(child.pointee.buffers![1]!.load(fromByteOffset: 8 * 999, as: Double.self), 999)
            child.pointee.release!(child)
            XCTAssertNil(child.pointee.release)
            child.deallocate()
        }
    }

    // MARK: - Rejected rows

    func testOutOfRangeRowsAreRejectedAndDropped() throws {
        let t = try transform(FnFixtures.types, "neg_i8", "int8_t(int8_t)", args: #"["x"]"#)
        let out = try t.process(makeBatch([("x", .int64([1, 300, -2, -129])), ("id", .int32([10, 11, 12, 13]))]))
        XCTAssertEqual(try values(out, "out") as? [Int8], [-1, 2])
        XCTAssertEqual(try values(out, "id") as? [Int32], [10, 12])
        XCTAssertEqual(host.rejected.map(\.row), [1, 3])
        XCTAssertEqual(host.rejected.first?.reason, "column 'x' = 300 does not fit parameter 1 (int8_t) of neg_i8")

        let unsigned = try transform(FnFixtures.types, "inc_u8", "uint8_t(uint8_t)", args: #"["x"]"#)
        XCTAssertEqual(try run(unsigned, [("x", .int16([-1, 7]))]) as? [UInt8], [8])
        let big = try transform(FnFixtures.types, "neg_i64", "int64_t(int64_t)", args: #"["x"]"#)
        XCTAssertEqual(try run(big, [("x", .uint64([UInt64.max, 5]))]) as? [Int64], [-5])
    }

    func testNulBytesAndInvalidUTF8AreRejected() throws {
        let t = try transform(FnFixtures.types, "length_of", "size_t(const char*)", args: #"["s"]"#)
        XCTAssertEqual(try run(t, [("s", .utf8(["a\u{0}b", "ok"]))]) as? [UInt64], [2])
        XCTAssertTrue(host.rejected.last?.reason.contains("NUL byte") ?? false)
        let broken = try transform(FnFixtures.types, "broken", "const char*(int32_t)", args: #"["x"]"#, extra: #","static":true"#)
        XCTAssertEqual(try run(broken, [("x", .int32([1]))]), [])
        XCTAssertEqual(host.rejected.last?.reason, "broken returned a string that is not valid UTF-8")
    }

    func testARefusedRejectFailsTheBatch() throws {
        host.refusesRejects = true
        let t = try transform(FnFixtures.types, "neg_i8", "int8_t(int8_t)", args: #"["x"]"#)
        XCTAssertThrowsError(try t.process(makeBatch([("x", .int64([1000]))]))) { error in
            XCTAssertTrue("\(error)".contains("does not fit"), "\(error)")
        }
    }

    func testUTF8Validator() {
        func valid(_ bytes: [UInt8]) -> Bool { bytes.withUnsafeBytes { isValidUTF8($0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, $0.count) } }
        XCTAssertTrue(valid(Array("plain ascii text, longer than eight".utf8)))
        XCTAssertTrue(valid(Array("héllo wörld € 𝄞".utf8)))
        XCTAssertTrue(valid([]))
        XCTAssertFalse(valid([0xFF]))
        XCTAssertFalse(valid([0xC3]))                     // truncated
        XCTAssertFalse(valid([0xC0, 0x80]))               // overlong
        XCTAssertFalse(valid([0xED, 0xA0, 0x80]))         // surrogate
        XCTAssertFalse(valid([0xF4, 0x90, 0x80, 0x80]))   // above U+10FFFF
        XCTAssertFalse(valid(Array("abcdefgh".utf8) + [0xE2, 0x82]))
    }

    // MARK: - Run-time column check

    func testFirstBatchWithoutTheColumnFailsClearly() throws {
        let t = try transform("libm.so.6", "cbrt", "double(double)", args: #"["temperature"]"#)
        XCTAssertThrowsError(try t.process(makeBatch([("value", .int64([1]))]))) { error in
            XCTAssertTrue("\(error)".contains("args[0] names column 'temperature', which is not in the input: it has value (int64)"), "\(error)")
        }
    }
}
