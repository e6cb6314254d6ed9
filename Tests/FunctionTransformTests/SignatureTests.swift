import XCTest
@testable import FunctionTransform

final class SignatureTests: XCTestCase {
    func testParsesTheIssueExamples() throws {
        XCTAssertEqual(try Signature.parse("double(double)"), Signature(result: .double, name: nil, parameters: [.double]))
        XCTAssertEqual(try Signature.parse("int32_t(const char*, int64_t)"), Signature(result: .int32, name: nil, parameters: [.string, .int64]))
        XCTAssertEqual(try Signature.parse("uint8(bool)"), Signature(result: .uint8, name: nil, parameters: [.bool]))
    }

    func testAcceptsCommonSpellingsNamesAndWhitespace() throws {
        let s = try Signature.parse("  double calibrate ( double raw , double offset,double gain )")
        XCTAssertEqual(s, Signature(result: .double, name: "calibrate", parameters: [.double, .double, .double]))
        XCTAssertEqual(try Signature.parse("const char *(char const* s, unsigned long long n)").parameters, [.string, .uint64])
        XCTAssertEqual(try Signature.parse("const char *(char const* s, unsigned long long n)").result, .string)
        XCTAssertEqual(try Signature.parse("size_t(const char*)").result, .uint64)
        XCTAssertEqual(try Signature.parse("long(double)").result, .int64)
        XCTAssertEqual(try Signature.parse("int(int, short, signed char, unsigned char, unsigned short, unsigned)").parameters,
                       [.int32, .int16, .int8, .uint8, .uint16, .uint32])
        XCTAssertEqual(try Signature.parse("_Bool(float)"), Signature(result: .bool, name: nil, parameters: [.float]))
        XCTAssertEqual(try Signature.parse("int8_t(int16, int32, int64, uint16_t, uint32_t, uint64_t)").parameters,
                       [.int16, .int32, .int64, .uint16, .uint32, .uint64])
        XCTAssertEqual(try Signature.parse("double(void)").parameters, [])
        XCTAssertEqual(try Signature.parse("double()").parameters, [])
        XCTAssertEqual(try Signature.parse("double(double)").description, "double(double)")
    }

    func testRefusesWhatItCannotCall() {
        func message(_ text: String) -> String {
            do { _ = try Signature.parse(text); return "parsed" } catch { return "\(error)" }
        }
        XCTAssertTrue(message("double").contains("no parameter list"))
        XCTAssertTrue(message("void(double)").contains("void"))
        XCTAssertTrue(message("char(double)").contains("ambiguous"))
        XCTAssertTrue(message("double(char)").contains("ambiguous"))
        XCTAssertTrue(message("double(int*)").contains("pointer"))
        XCTAssertTrue(message("double(double, ...)").contains("variadic"))
        XCTAssertTrue(message("long double(double)").contains("long double"))
        XCTAssertTrue(message("double(struct point)").contains("not a scalar"))
        XCTAssertTrue(message("double(quux)").contains("unknown parameter 1 'quux'"))
        XCTAssertTrue(message("double(double,)").contains("parameter 2"))
        XCTAssertTrue(message("double(double))").contains("one parameter list"))
        XCTAssertTrue(message("(double)").contains("no result type"))
        XCTAssertTrue(message("double(double) & x").contains("unexpected character '&'"))
    }
}
