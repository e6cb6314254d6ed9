import Foundation
import XCTest

/// `sluice validate` end to end: YAML errors with file, line and column; secrets never shown.
final class ValidateCommandTests: XCTestCase {
    private var dir = ""

    override func setUp() { dir = makeTemporaryDirectory("validate") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    private func validate(_ yaml: String, environment: [String: String] = [:]) throws -> RunResult {
        let path = dir + "/p.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return try runProcess(Built.sluice, ["validate", path], environment: environment)
    }

    func testSyntaxErrorNamesLineAndColumn() throws {
        let result = try validate("name: x\nsource: [\n")
        XCTAssertEqual(result.status, 78)
        XCTAssertTrue(result.stderr.contains("p.yaml:3:1: invalid YAML"), result.stderr)
    }

    func testUnknownKeyAndWrongTypeAreLocated() throws {
        let result = try validate("""
        name: x
        source: { plugin: \(Built.sequenceSource), config: { count: ten } }
        sink: { plugin: file-sink, config: { directory: \(dir)/out } }
        checkpointing: { directory: \(dir)/c, retained: many, intervall: 1s }
        """)
        XCTAssertEqual(result.status, 78)
        XCTAssertTrue(result.stderr.contains("p.yaml:4:"), result.stderr)
        XCTAssertTrue(result.stderr.contains("did you mean 'interval'"), result.stderr)
        XCTAssertTrue(result.stderr.contains("retained"), result.stderr)
    }

    func testPluginSchemaErrorIsLocatedAndSecretsAreNotPrinted() throws {
        let result = try validate("""
        name: x
        source: { plugin: \(Built.sequenceSource), config: { count: 10 } }
        sink:
          plugin: file-sink
          config:
            directory: \(dir)/out
            password: "hunter2-secret"
        checkpointing: { directory: \(dir)/c }
        """)
        XCTAssertEqual(result.status, 78)
        XCTAssertTrue(result.stderr.contains("p.yaml:7:5"), result.stderr)
        XCTAssertTrue(result.stderr.contains("unknown key 'password'"), result.stderr)
        XCTAssertFalse(result.output.contains("hunter2"), result.output)
    }

    func testInterpolationAndRedactedOutput() throws {
        let result = try validate("""
        name: x
        source:
          plugin: \(Built.sequenceSource)
          config:
            count: "${COUNT:-5}"
            batch_size: ${BATCH}
        sink: { plugin: file-sink, config: { directory: "${OUT_DIR}" } }
        checkpointing: { directory: \(dir)/c, interval: 2s }
        """, environment: ["BATCH": "7", "OUT_DIR": dir + "/out"])
        // "${COUNT:-5}" is quoted, so it stays a string, which the plugin's schema refuses.
        XCTAssertEqual(result.status, 78, result.output)
        XCTAssertTrue(result.stderr.contains("p.yaml:5:"), result.stderr)
        XCTAssertTrue(result.stderr.contains("count"), result.stderr)

        let unset = try validate("""
        name: x
        source:
          plugin: \(Built.sequenceSource)
          config:
            count: ${COUNT}
        sink: { plugin: file-sink, config: { directory: \(dir)/out } }
        checkpointing: { directory: \(dir)/c }
        """)
        XCTAssertEqual(unset.status, 78)
        XCTAssertTrue(unset.stderr.contains("environment variable COUNT is not set"), unset.stderr)

        let ok = try validate("""
        name: x
        source:
          plugin: \(Built.sequenceSource)
          config:
            count: ${COUNT:-5}
            batch_size: ${BATCH}
        sink: { plugin: file-sink, config: { directory: "${OUT_DIR}" } }
        checkpointing: { directory: \(dir)/c, interval: 2s }
        """, environment: ["BATCH": "7", "OUT_DIR": dir + "/out"])
        XCTAssertEqual(ok.status, 0, ok.output)
        XCTAssertTrue(ok.stdout.contains(#"config: {"count":5,"batch_size":7}"#), ok.stdout)
        XCTAssertTrue(ok.stdout.contains("exactly-once"), ok.stdout)
    }
}
