import XCTest
@testable import SluiceCore

/// Validating operator configs against the JSON Schema a plugin publishes.
final class PipelineSchemaValidatorTests: XCTestCase, PipelineFileTesting {
    private let schema = """
    {
      "type": "object",
      "required": ["directory"],
      "additionalProperties": false,
      "properties": {
        "directory": { "type": "string", "minLength": 1 },
        "count": { "type": "integer", "minimum": 1, "maximum": 100 },
        "ratio": { "type": "number" },
        "format": { "enum": ["csv", "json"] },
        "compress": { "type": ["boolean", "null"] },
        "columns": { "type": "array", "items": {
          "type": "object", "required": ["name"], "additionalProperties": false,
          "properties": { "name": { "type": "string" }, "type": { "type": "string" } } } },
        "labels": { "type": "object", "additionalProperties": { "type": "string" } }
      }
    }
    """

    func testValidConfigHasNoErrors() throws {
        let config = try sinkConfig("""
        { directory: out, count: 5, ratio: 1, format: csv, compress: ~,
          columns: [{ name: a, type: int }], labels: { team: data } }
        """)
        XCTAssertEqual(validate(config), [])
    }

    func testUnknownKeySuggestsClosest() throws {
        let errors = validate(try sinkConfig("{ diretory: out }"))
        XCTAssertEqual(errors.map(\.description), [
            "p.yaml:3:30: sink 'sink': missing required key 'directory'",
            "p.yaml:3:32: sink 'sink': unknown key 'diretory'; did you mean 'directory'? "
                + "Known keys: columns, compress, count, directory, format, labels, ratio",
        ])
    }

    func testTypeErrorsNameExpectedAndActualType() throws {
        let errors = validate(try sinkConfig("{ directory: out, count: '7', ratio: x, compress: 1, labels: { a: 1 } }"))
        XCTAssertEqual(errors.map(\.message), [
            "sink 'sink': 'count' must be integer, got string",
            "sink 'sink': 'ratio' must be number, got string",
            "sink 'sink': 'compress' must be boolean or null, got integer",
            "sink 'sink': 'labels.a' must be string, got integer",
        ])
    }

    func testIntegerIsANumberButNotTheOtherWayRound() throws {
        XCTAssertEqual(validate(try sinkConfig("{ directory: out, ratio: 3 }")), [])
        XCTAssertEqual(validate(try sinkConfig("{ directory: out, count: 2.5 }")).map(\.message),
                       ["sink 'sink': 'count' must be integer, got number"])
    }

    func testRangesEnumAndMinLength() throws {
        let errors = validate(try sinkConfig("{ directory: '', count: 0, format: xml }"))
        XCTAssertEqual(errors.map(\.message), [
            "sink 'sink': 'directory' must be at least 1 characters long",
            "sink 'sink': 'count' must be >= 1, got 0",
            "sink 'sink': 'format' must be one of 'csv', 'json', got 'xml'",
        ])
        XCTAssertEqual(validate(try sinkConfig("{ directory: out, count: 101 }")).map(\.message),
                       ["sink 'sink': 'count' must be <= 100, got 101"])
    }

    func testNestedItemsAreCheckedWithLocations() throws {
        let errors = validate(try sinkConfig("{ directory: out, columns: [{ name: a }, { type: int, size: 4 }] }"))
        XCTAssertEqual(errors.map(\.description), [
            "p.yaml:3:71: sink 'sink': missing required key 'name' in 'columns[1]'",
            "p.yaml:3:84: sink 'sink': unknown key 'size' in 'columns[1]'; known keys: name, type",
        ])
    }

    func testMissingRequiredKeyOfAbsentConfigIsAtOperatorBlock() throws {
        let spec = try PipelineLoader.parse(yaml: Self.minimal, file: "p.yaml", environment: [:])
        XCTAssertEqual(validate(spec.sink.config).map(\.description),
                       ["p.yaml:3:7: sink 'sink': missing required key 'directory'"])
    }

    func testBooleanSchemasAndRootType() {
        let here = SourceLocation(file: "f", line: 1, column: 1)
        let config = ConfigValue.object([(key: "x", keyLocation: here, value: .int(1, here))], here)
        XCTAssertEqual(ConfigSchemaValidator.validate(config, schemaJSON: "true", operatorName: "t"), [])
        XCTAssertEqual(ConfigSchemaValidator.validate(config, schemaJSON: #"{"properties": {"x": false}}"#, operatorName: "t")
            .map(\.message), ["t: 'x' is not allowed here"])
        XCTAssertEqual(ConfigSchemaValidator.validate(config, schemaJSON: #"{"type": "array"}"#, operatorName: "t")
            .map(\.message), ["t: config must be array, got object"])
    }

    func testInvalidSchemaGivesOneError() {
        let here = SourceLocation(file: "f", line: 2, column: 3)
        let config = ConfigValue.object([], here)
        for schema in ["{ not json", #"{"type": "text"}"#, #"{"properties": []}"#, #"{"minimum": "1"}"#, "[1]",
                       #"{"properties": {"a": {"minLength": -1}}}"#] {
            let errors = ConfigSchemaValidator.validate(config, schemaJSON: schema, operatorName: "source 'in'")
            XCTAssertEqual(errors.count, 1, schema)
            XCTAssertEqual(errors.first?.location, here)
            XCTAssertTrue(errors.first?.message.hasPrefix("source 'in': the plugin's config schema is invalid") ?? false,
                          errors.first?.message ?? "")
        }
    }

    // MARK: - Helpers

    /// The config of a sink written as the flow mapping `flow` on line 3 (starting at column 30).
    private func sinkConfig(_ flow: String) throws -> ConfigValue {
        let line = flow.replacingOccurrences(of: "\n", with: " ")
        return try parse(replacing: "sink: { plugin: out }", with: "sink: { plugin: out, config: \(line) }").sink.config
    }

    private func validate(_ config: ConfigValue) -> [PipelineError] {
        ConfigSchemaValidator.validate(config, schemaJSON: schema, operatorName: "sink 'sink'")
    }
}
