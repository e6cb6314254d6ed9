import XCTest
@testable import FunctionTransform
import PluginKit

/// The checks shared by validate, the schema hook and the first batch, with their JSON Pointers.
final class FunctionPlanTests: XCTestCase {
    private func failure(_ json: String, input: [ArrowField]? = nil) -> PluginError? {
        do {
            let plan = try FunctionPlan(try config(json))
            if let input { _ = try plan.bind(input) }
            return nil
        } catch let error as PluginError {
            return error
        } catch {
            return PluginError("\(error)")
        }
    }

    private let base = #""library":"libm.so.6","symbol":"cbrt","output":"y""#

    func testConfigurationErrorsPointAtTheirKey() {
        XCTAssertEqual(failure(#"{\#(base),"signature":"double(","args":["x"]}"#)?.configPath, "/signature")
        let count = failure(#"{\#(base),"signature":"double(double)","args":["x", 2]}"#)
        XCTAssertEqual(count?.configPath, "/args")
        XCTAssertTrue(count?.message.contains("takes 1 argument (double(double)) but args lists 2") ?? false, "\(String(describing: count))")
        XCTAssertEqual(failure(#"{\#(base),"signature":"double sqrt(double)","args":["x"]}"#)?.configPath, "/signature")
        XCTAssertEqual(failure(#"{\#(base),"signature":"const char*(double)","args":["x"]}"#)?.configPath, "/signature")
        XCTAssertEqual(failure(#"{\#(base),"signature":"const char*(double)","args":["x"],"free":"free","static":true}"#)?.configPath, "/free")
        XCTAssertEqual(failure(#"{\#(base),"signature":"double(double)","args":["x"],"free":"free"}"#)?.configPath, "/free")
        XCTAssertEqual(failure(#"{\#(base),"signature":"double(double)","args":["x"],"static":true}"#)?.configPath, "/static")
        XCTAssertNil(failure(#"{\#(base),"signature":"const char*(double)","args":["x"],"static":true}"#))
    }

    func testLiteralsAreCheckedAgainstTheirParameter() {
        let sig = #""signature":"double(int8_t, const char*, bool, float)""#
        XCTAssertNil(failure(#"{\#(base),\#(sig),"args":[5, {"literal":"text"}, true, 2.5]}"#))
        XCTAssertEqual(failure(#"{\#(base),\#(sig),"args":[300, {"literal":"t"}, true, 1]}"#)?.configPath, "/args/0")
        XCTAssertEqual(failure(#"{\#(base),\#(sig),"args":[1.5, {"literal":"t"}, true, 1]}"#)?.configPath, "/args/0")
        XCTAssertEqual(failure(#"{\#(base),\#(sig),"args":[1, {"literal":3}, true, 1]}"#)?.configPath, "/args/1")
        XCTAssertEqual(failure(#"{\#(base),\#(sig),"args":[1, {"literal":"t"}, 1, 1]}"#)?.configPath, "/args/2")
        XCTAssertEqual(failure(#"{\#(base),\#(sig),"args":[1, {"literal":"t"}, true, {"literal":"x"}]}"#)?.configPath, "/args/3")
    }

    func testArgumentsDecodeAsColumnsOrLiterals() throws {
        let c = try config(#"{\#(base),"signature":"double(double)","args":["a", 1, -2, 2.5, true, {"literal":"a"}, {"literal":7}, {"column":"b"}, 18446744073709551615]}"#)
        XCTAssertEqual(c.args, [.column("a"), .literal(.integer(1)), .literal(.integer(-2)), .literal(.number(2.5)), .literal(.bool(true)),
                                .literal(.string("a")), .literal(.integer(7)), .column("b"), .literal(.unsigned(UInt64.max))])
        XCTAssertEqual(c.onNull, .null)
        XCTAssertThrowsError(try config(#"{\#(base),"signature":"double(double)","args":[null]}"#))
    }

    func testBindingFindsColumnsAndChecksTheirTypes() throws {
        let input = [ArrowField(name: "value", format: .int64, nullable: false), ArrowField(name: "name", format: .utf8)]
        let missing = failure(#"{\#(base),"signature":"double(double, double)","args":[1, "temperature"]}"#, input: input)
        XCTAssertEqual(missing?.configPath, "/args/1")
        XCTAssertTrue(missing?.message.contains("'temperature', which is not in the input: it has value (int64), name (utf8)") ?? false, "\(String(describing: missing))")
        let wrongType = failure(#"{\#(base),"signature":"double(double)","args":["name"]}"#, input: input)
        XCTAssertEqual(wrongType?.configPath, "/args/0")
        XCTAssertTrue(wrongType?.message.contains("column 'name' is utf8") ?? false, "\(String(describing: wrongType))")
        XCTAssertEqual(failure(#"{\#(base),"signature":"double(const char*)","args":["value"]}"#, input: input)?.configPath, "/args/0")
        XCTAssertEqual(failure(#"{\#(base),"signature":"double(bool)","args":["value"]}"#, input: input)?.configPath, "/args/0")

        let plan = try FunctionPlan(try config(#"{\#(base),"signature":"double(double)","args":["value"]}"#))
        let appended = try plan.bind(input)
        XCTAssertEqual(appended.output, input + [ArrowField(name: "y", format: .float64, nullable: false)])
        XCTAssertFalse(appended.replaces)
        XCTAssertEqual(appended.sources, [.column(index: 0, read: .signedToFloating(width: 8))])

        let replacing = try FunctionPlan(try config(#"{"library":"x","symbol":"f","output":"value","signature":"int8_t(const char*)","args":["name"]}"#)).bind(input)
        XCTAssertEqual(replacing.output, [ArrowField(name: "value", format: .int8, nullable: true), input[1]])
        XCTAssertTrue(replacing.replaces)
        XCTAssertEqual(replacing.outputIndex, 0)

        // on_null: call never produces a null from a null argument.
        let call = try FunctionPlan(try config(#"{"library":"x","symbol":"f","output":"n","on_null":"call","signature":"int32_t(const char*)","args":["name"]}"#)).bind(input)
        XCTAssertEqual(call.output.last, ArrowField(name: "n", format: .int32, nullable: false))
    }

    func testColumnTypeMapping() {
        XCTAssertEqual(ColumnRead(.float64, to: .double), .copy(width: 8))
        XCTAssertEqual(ColumnRead(.float32, to: .float), .copy(width: 4))
        XCTAssertEqual(ColumnRead(.float32, to: .double), .float32ToDouble)
        XCTAssertEqual(ColumnRead(.float64, to: .float), .float64ToFloat)
        XCTAssertEqual(ColumnRead(.int64, to: .int64), .copy(width: 8))
        XCTAssertEqual(ColumnRead(.timestamp(.milliseconds, timeZone: "UTC"), to: .int64), .copy(width: 8))
        XCTAssertEqual(ColumnRead(.date32, to: .int32), .copy(width: 4))
        XCTAssertEqual(ColumnRead(.int64, to: .int32), .signed(width: 8, checked: true))
        XCTAssertEqual(ColumnRead(.int8, to: .int64), .signed(width: 1, checked: false))
        XCTAssertEqual(ColumnRead(.int8, to: .uint64), .signed(width: 1, checked: true))
        XCTAssertEqual(ColumnRead(.uint8, to: .int16), .unsigned(width: 1, checked: false))
        XCTAssertEqual(ColumnRead(.uint64, to: .int64), .unsigned(width: 8, checked: true))
        XCTAssertEqual(ColumnRead(.uint32, to: .uint64), .unsigned(width: 4, checked: false))
        XCTAssertEqual(ColumnRead(.int32, to: .double), .signedToFloating(width: 4))
        XCTAssertEqual(ColumnRead(.uint16, to: .float), .unsignedToFloating(width: 2))
        XCTAssertEqual(ColumnRead(.boolean, to: .bool), .bit)
        XCTAssertEqual(ColumnRead(.utf8, to: .string), .bytes)
        XCTAssertEqual(ColumnRead(.binary, to: .string), .bytes)
        XCTAssertNil(ColumnRead(.float64, to: .int64), "truncation must be explicit")
        XCTAssertNil(ColumnRead(.boolean, to: .int32))
        XCTAssertNil(ColumnRead(.int32, to: .bool))
        XCTAssertNil(ColumnRead(.utf8, to: .double))
        XCTAssertNil(ColumnRead(.int64, to: .string))
    }

    func testResultTypesMapToArrow() {
        XCTAssertEqual(CType.allCases.map(\.arrowFormat),
                       [.int8, .int16, .int32, .int64, .uint8, .uint16, .uint32, .uint64, .float32, .float64, .boolean, .utf8])
    }
}
