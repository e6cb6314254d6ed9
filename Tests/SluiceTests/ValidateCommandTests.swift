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

    /// The Pulsar source declares its columns from its configuration, so a parser reading a
    /// column it does not emit (a typo, or one left out of `columns`) fails the check, located,
    /// instead of failing on the first batch; no broker is needed to find it.
    func testAColumnThePulsarSourceDoesNotEmitIsFoundBeforeTheRun() throws {
        func pipeline(columns: String, payloadColumn: String) -> String {
            """
            name: x
            source:
              plugin: pulsar-source
              config: { service_url: "pulsar://127.0.0.1:1", topic: t, subscription: s, columns: \(columns) }
            transforms:
              - plugin: sensor-parser
                config:
                  payload_column: \(payloadColumn)
                  columns: [{ name: v, type: float64 }]
            sink: { plugin: null-sink }
            checkpointing: { directory: \(dir)/c }
            """
        }
        let typo = try validate(pipeline(columns: "[payload, topic]", payloadColumn: "paylod"))
        XCTAssertEqual(typo.status, 78, typo.output)
        XCTAssertTrue(typo.stderr.contains("p.yaml:8:"), typo.stderr)
        XCTAssertTrue(typo.stderr.contains("the input has no column 'paylod' (it has payload, topic)"), typo.stderr)
        let leftOut = try validate(pipeline(columns: "[topic, message_id]", payloadColumn: "payload"))
        XCTAssertEqual(leftOut.status, 78, leftOut.output)
        XCTAssertTrue(leftOut.stderr.contains("no column 'payload' (it has topic, message_id)"), leftOut.stderr)
        let right = try validate(pipeline(columns: "[payload]", payloadColumn: "payload"))
        XCTAssertEqual(right.status, 0, right.output)
        XCTAssertFalse(right.output.contains("not checked before the run"), right.output)
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
