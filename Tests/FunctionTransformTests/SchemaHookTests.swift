import XCTest
@testable import FunctionTransform
import PluginKit

/// The ABI 1.1 `output_schema` hook as the host sees it: through the C entry point.
final class SchemaHookTests: XCTestCase {
    private func descriptor() throws -> UnsafePointer<sluice_plugin_descriptor> {
        var d: UnsafePointer<sluice_plugin_descriptor>?
        var error = sluice_error()
        XCTAssertEqual(functionTransformEntry(UInt32(SLUICE_ABI_VERSION_MAJOR << 16 | SLUICE_ABI_VERSION_MINOR), &d, &error), SLUICE_OK)
        return try XCTUnwrap(d)
    }

    private func call(_ json: String, input: [ArrowField]?) throws -> (status: sluice_status, fields: [ArrowField]?, error: sluice_error) {
        let d = try descriptor()
        XCTAssertEqual(Int(d.pointee.struct_size), MemoryLayout<sluice_plugin_descriptor>.size)
        XCTAssertEqual(d.pointee.abi_version, UInt32(SLUICE_ABI_VERSION_MAJOR << 16 | SLUICE_ABI_VERSION_MINOR), "a plugin built with the package reports the header's version")
        let hook = try XCTUnwrap(d.pointee.output_schema)
        var inSchema = ArrowSchema()
        if let input { ArrowField.export(input, to: &inSchema) }
        defer { inSchema.release?(&inSchema) }
        var out = ArrowSchema()
        var error = sluice_error()
        let status = withUnsafePointer(to: &inSchema) { hook(json, input == nil ? nil : $0, &out, &error) }
        defer { out.release?(&out) }
        let fields = out.release == nil ? nil : try withUnsafePointer(to: &out) { try ArrowField.fields(of: $0) }
        return (status, fields, error)
    }

    func testDeclaresTheInputPlusTheResultColumn() throws {
        let input = [ArrowField(name: "value", format: .float64, nullable: false)]
        let r = try call(#"{"library":"libm.so.6","symbol":"cbrt","signature":"double(double)","args":["value"],"output":"root"}"#, input: input)
        XCTAssertEqual(r.status, SLUICE_OK)
        XCTAssertEqual(r.fields, input + [ArrowField(name: "root", format: .float64, nullable: false)])
    }

    func testPointsAtTheOffendingArgument() throws {
        let input = [ArrowField(name: "value", format: .int64, nullable: false)]
        var r = try call(#"{"library":"libm.so.6","symbol":"pow","signature":"double(double, double)","args":["value", "exponent"],"output":"p"}"#, input: input)
        XCTAssertEqual(r.status, SLUICE_ERROR)
        XCTAssertEqual(withUnsafeBytes(of: &r.error.config_path) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }, "/args/1")
        XCTAssertTrue(withUnsafeBytes(of: &r.error.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }.contains("'exponent'"))
    }

    func testWithoutAnInputTheSchemaIsUnknown() throws {
        let r = try call(#"{"library":"libm.so.6","symbol":"cbrt","signature":"double(double)","args":["value"],"output":"root"}"#, input: nil)
        XCTAssertEqual(r.status, SLUICE_OK)
        XCTAssertNil(r.fields, "OK with a released schema means unknown")
    }

    func testSchemaExportRoundTrips() throws {
        let fields = [ArrowField(name: "a", format: .int8, nullable: false), ArrowField(name: "t", format: .timestamp(.milliseconds, timeZone: "UTC")),
                      ArrowField(name: "s", format: .utf8)]
        var schema = ArrowSchema()
        ArrowField.export(fields, to: &schema)
        XCTAssertEqual(try withUnsafePointer(to: &schema) { try ArrowField.fields(of: $0) }, fields)
        schema.release!(&schema)
        XCTAssertNil(schema.release)
        XCTAssertEqual(fields.map(\.description), ["a int8", "t timestamp[ms, UTC]?", "s utf8?"])
    }
}
