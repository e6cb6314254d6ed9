import Foundation
import XCTest
@testable import SluiceCore

/// `${VAR}` interpolation in scalar values, and how its results are typed.
final class PipelineInterpolationTests: XCTestCase, PipelineFileTesting {
    // MARK: - Expansion

    func testSetVariableIsSubstituted() {
        XCTAssertEqual(expand("jdbc://${HOST}:5432", ["HOST": "db"]), "jdbc://db:5432")
        XCTAssertEqual(expand("${A}${B}", ["A": "x", "B": "y"]), "xy")
    }

    func testDefaultIsUsedWhenUnsetOrEmpty() {
        XCTAssertEqual(expand("${PORT:-8123}", [:]), "8123")
        XCTAssertEqual(expand("${PORT:-8123}", ["PORT": ""]), "8123")
        XCTAssertEqual(expand("${PORT:-8123}", ["PORT": "9000"]), "9000")
        XCTAssertEqual(expand("${URL:-http://a:1/x}", [:]), "http://a:1/x")
    }

    func testEmptyDefaultIsAllowed() {
        XCTAssertEqual(expand("prefix-${SUFFIX:-}", [:]), "prefix-")
    }

    func testEscapeAndLoneDollarsAreLiteral() {
        XCTAssertEqual(expand("$${HOME} costs $5 and $$", ["HOME": "/root"]), "${HOME} costs $5 and $$")
    }

    func testUnsetVariableWithoutDefaultFails() {
        XCTAssertEqual(
            EnvironmentInterpolation.expand("${CLICKHOUSE_URL}", environment: [:]),
            .failure(.init(message: "environment variable CLICKHOUSE_URL is not set; set it or write ${CLICKHOUSE_URL:-default}"))
        )
    }

    func testMalformedReferencesFailWithoutEchoingTheText() throws {
        for text in ["${UNTERMINATED", "${}", "${1X}", "${A B}"] {
            guard case let .failure(failure) = EnvironmentInterpolation.expand(text, environment: [:]) else {
                return XCTFail("\(text) should fail")
            }
            XCTAssertFalse(failure.message.contains(text), failure.message)
        }
    }

    // MARK: - In pipeline files

    func testUnsetVariableIsReportedAtTheScalar() throws {
        let errors = try parseErrors(replacing: "sink: { plugin: out }",
                                     with: "sink: { plugin: out, config: { url: \"${CLICKHOUSE_URL}\" } }")
        XCTAssertEqual(errors.map(\.description), [
            "p.yaml:3:37: environment variable CLICKHOUSE_URL is not set; set it or write ${CLICKHOUSE_URL:-default}",
        ])
    }

    func testUnsetVariableInTypedFieldIsReportedOnce() throws {
        let errors = try parseErrors(replacing: "name: p", with: "name: p\nqueue_capacity: ${QUEUE}")
        XCTAssertEqual(errors.map(\.message), [
            "environment variable QUEUE is not set; set it or write ${QUEUE:-default}",
        ])
    }

    func testPlainResultIsTypedAfterInterpolation() throws {
        let spec = try parse(replacing: "source: { plugin: gen }", with: """
        source:
          plugin: ${PLUGIN_DIR}/libgen.so
          config:
            count: ${COUNT:-5}
            ratio: ${RATIO}
            enabled: ${ENABLED}
            nothing: ${MISSING:-}
            label: ${LABEL}
            literal: $${NOT_A_VAR}
        """, environment: ["PLUGIN_DIR": "/opt/plugins", "RATIO": "0.25", "ENABLED": "true", "LABEL": "a b"])
        XCTAssertEqual(spec.source.plugin, "/opt/plugins/libgen.so")
        XCTAssertEqual(spec.source.configJSON,
                       #"{"count":5,"ratio":0.25,"enabled":true,"nothing":null,"label":"a b","literal":"${NOT_A_VAR}"}"#)
        XCTAssertEqual(try parse(replacing: "name: p", with: "name: p\nqueue_capacity: ${Q:-64}").queueCapacity, 64)
    }

    func testQuotedResultStaysString() throws {
        let spec = try parse(replacing: "source: { plugin: gen }", with: """
        source:
          plugin: gen
          config:
            double: "${N}"
            single: '${N}'
            block: |
              ${N}
        """, environment: ["N": "42"])
        XCTAssertEqual(spec.source.configJSON, #"{"double":"42","single":"42","block":"42\n"}"#)
    }

    func testKeysAreNotInterpolated() throws {
        let spec = try parse(replacing: "sink: { plugin: out }", with: "sink:\n  plugin: out\n  config:\n    ${KEY}: 1",
                             environment: ["KEY": "replaced"])
        XCTAssertEqual(spec.sink.configJSON, #"{"${KEY}":1}"#)
    }

    // MARK: - References where YAML syntax is

    func testReferencesInsideFlowMappingsAndSequences() throws {
        let spec = try parse(replacing: "source: { plugin: gen }",
                             with: "source: { plugin: ${P:-gen}, config: { count: ${COUNT:-1000000}, batch_size: 4096, rate: ${RATE:-250000}, tags: [${A}, x${A}y] } }",
                             environment: ["RATE": "5", "A": "a"])
        XCTAssertEqual(spec.source.plugin, "gen")
        XCTAssertEqual(spec.source.configJSON, #"{"count":1000000,"batch_size":4096,"rate":5,"tags":["a","xay"]}"#)
    }

    func testDefaultsMayHoldFlowSyntax() throws {
        let spec = try parse(replacing: "source: { plugin: gen }",
                             with: "source: { plugin: gen, config: { list: ${L:-a, b}, map: ${M:-{x: 1} } }")
        // A reference ends at its first `}`: the default of M is `{x: 1`.
        XCTAssertEqual(spec.source.configJSON, #"{"list":"a, b","map":"{x: 1"}"#)
    }

    func testValuesWithYAMLSyntaxAreOneScalarEach() throws {
        let nasty = "p\"a'ss #1: {x}, [y]\n- z: &a *b"
        let spec = try parse(replacing: "sink: { plugin: out }",
                             with: "sink: { plugin: out, config: { password: ${PW}, quoted: \"${PW}\", n: ${N} } }",
                             environment: ["PW": nasty, "N": "12 # not a comment"])
        let config = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(spec.sink.configJSON.utf8)) as? [String: String])
        XCTAssertEqual(config, ["password": nasty, "quoted": nasty, "n": "12 # not a comment"])
    }

    func testLocationsAfterAReferenceAreThoseOfTheFile() throws {
        // `${LONG_VARIABLE_NAME}` expands to one character; the error after it keeps its column.
        let errors = try parseErrors(replacing: "sink: { plugin: out }",
                                     with: "sink: { plugin: out, config: { a: ${LONG_VARIABLE_NAME}, b: ${MISSING} } }",
                                     environment: ["LONG_VARIABLE_NAME": "1"])
        XCTAssertEqual(errors.map(\.description), [
            "p.yaml:3:61: environment variable MISSING is not set; set it or write ${MISSING:-default}",
        ])
    }

    func testSyntaxErrorsNameTheReferenceNotAPlaceholder() throws {
        let errors = try parseErrors(replacing: "sink: { plugin: out }", with: "sink: { plugin: out, config: { a: ${A} ${B}: }")
        XCTAssertEqual(errors.count, 1)
        XCTAssertTrue(errors[0].description.hasPrefix("p.yaml:3:"), errors[0].description)
        XCTAssertFalse(errors[0].description.unicodeScalars.contains { $0.value >= 0xF0000 }, errors[0].description)
    }

    func testTheShippedSequencePipelineLoads() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../pipelines/sequence-to-clickhouse.yaml").standardized.path
        let spec = try PipelineLoader.load(path: path, environment: ["COUNT": "7"])
        XCTAssertEqual(spec.source.configJSON, #"{"count":7,"batch_size":4096,"rate":250000}"#)
    }

    // MARK: - Helpers

    private func expand(_ text: String, _ environment: [String: String]) -> String? {
        try? EnvironmentInterpolation.expand(text, environment: environment).get()
    }
}
