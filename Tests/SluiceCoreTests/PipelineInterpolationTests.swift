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

    // MARK: - Helpers

    private func expand(_ text: String, _ environment: [String: String]) -> String? {
        try? EnvironmentInterpolation.expand(text, environment: environment).get()
    }
}
