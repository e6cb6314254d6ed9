import Foundation
import XCTest

/// `sluice plugins check` against the conformance fixture: the clean plugin of each kind passes,
/// and each broken build fails exactly the check for the rule it breaks, with a message that
/// says what is wrong.
final class PluginCheckTests: XCTestCase {
    private var dir = ""

    override func setUpWithError() throws { dir = makeTemporaryDirectory("plugin-check") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    private static let fixture = Built.packageRoot + "/Tests/Fixtures/conformance/conformance_plugin.c"

    private func build(_ kind: String, _ defines: [String] = []) throws -> String {
        try Built.cPlugin(source: Self.fixture, output: dir + "/\(kind)-\(defines.joined(separator: "-")).so",
                          defines: ["KIND_\(kind)"] + defines)
    }

    /// Runs the checker; returns its exit status and output.
    private func check(_ plugin: String, _ arguments: [String] = []) throws -> RunResult {
        try runProcess(Built.sluice, ["plugins", "check", plugin] + arguments, timeout: 300)
    }

    /// The outcomes the report printed, by check id.
    private func outcomes(_ output: String) -> [String: String] {
        var found: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            if parts.count == 2, ["ok", "FAIL", "skip"].contains(parts[0]) { found[String(parts[1])] = String(parts[0]) }
        }
        return found
    }

    func testTheCleanPluginOfEachKindPassesEveryCheck() throws {
        let failing = dir + "/failing.json"
        try #"{"fail_open": true}"#.write(toFile: failing, atomically: true, encoding: .utf8)
        for kind in ["SOURCE", "TRANSFORM", "SINK"] {
            let result = try check(try build(kind), ["--failing-config", failing])
            XCTAssertEqual(result.status, 0, "\(kind): \(result.output)")
            let seen = outcomes(result.stdout)
            let expectedSkips: Set<String> = kind == "SOURCE" ? [] : ["output-schema"]
            for (id, outcome) in seen {
                XCTAssertEqual(outcome, expectedSkips.contains(id) ? "skip" : "ok", "\(kind) \(id): \(result.stdout)")
            }
            XCTAssertEqual(seen.count, 13, "every check reports: \(result.stdout)")
            XCTAssertTrue(result.stdout.contains("PASS: "), result.stdout)
        }
    }

    /// (kind, BREAK_ define, the check that must fail, words its message must contain)
    private static let broken: [(String, String, String, String)] = [
        ("SOURCE", "ACCEPTS_ANY_MAJOR", "handshake", "accepted a host of the newer ABI 2.0"),
        ("SOURCE", "VAGUE_REFUSAL", "handshake", "does not name both versions"),
        ("SOURCE", "TWO_DATA_HOOKS", "descriptor", "must leave sink_write NULL"),
        ("SOURCE", "SCHEMA_NOT_JSON", "config-schema", "is not a JSON object"),
        ("SINK", "VALIDATE_WRITES_FILE", "validate-config", "created validated.txt"),
        ("SINK", "VALIDATE_NO_MESSAGE", "validate-config", "without a message"),
        ("SINK", "SOCKET_IN_CREATE", "lifecycle", "create must not connect anywhere"),
        ("SINK", "DESTROY_AFTER_FAILED_OPEN", "open-failure", "the plugin crashed (signal 6"),
        ("SOURCE", "OFFSETS", "data", "offsets decrease"),
        ("SOURCE", "DECLARED_FORMAT", "data", "is \"i\" but output_schema declared \"l\""),
        ("SINK", "REFUSES_EMPTY", "data", "refused input batch 3 (empty)"),
        ("SINK", "KEEPS_BATCH", "ownership", "was not released by the time destroy returned"),
        ("SINK", "DOUBLE_RELEASE", "ownership", "was released 2 times"),
        ("SOURCE", "RELEASE_KEEPS_POINTER", "ownership", "did not set release to NULL"),
        ("SOURCE", "LEAKS_BUFFERS", "leaks", "never freed"),
        ("SOURCE", "RESTORE_IGNORES_STATE", "checkpoints", "after restore(1) the first batch differs"),
        ("SINK", "COMMIT_NOT_IDEMPOTENT", "checkpoints", "a repeated notify_checkpoint_complete(14) failed"),
        ("SINK", "LOG_AFTER_DESTROY", "threads", "log was called after destroy returned"),
        ("TRANSFORM", "REJECT_OFF_THREAD", "threads", "reject was called from a thread other than the operator thread"),
        ("TRANSFORM", "HOST_DATA", "threads", "host_data the host never gave out"),
    ]

    func testEachBrokenRuleIsCaughtByItsCheck() throws {
        let failing = dir + "/failing.json"
        try #"{"fail_open": true}"#.write(toFile: failing, atomically: true, encoding: .utf8)
        for (kind, rule, id, words) in Self.broken {
            let result = try check(try build(kind, ["BREAK_\(rule)"]), ["--failing-config", failing])
            XCTAssertNotEqual(result.status, 0, "\(rule) must fail the check: \(result.output)")
            XCTAssertEqual(outcomes(result.stdout)[id], "FAIL", "\(rule) must fail '\(id)': \(result.stdout)")
            XCTAssertTrue(result.stdout.contains(words), "\(rule): expected '\(words)' in \(result.stdout)")
            XCTAssertTrue(result.stdout.contains("FAIL: "), result.stdout)
        }
    }

    func testAFileWithoutTheEntryPointFailsTheLoadCheck() throws {
        let plugin = try build("SOURCE", ["sluice_plugin_entry=another_name"])
        let result = try check(plugin)
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertEqual(outcomes(result.stdout)["load"], "FAIL", result.stdout)
        XCTAssertTrue(result.stdout.contains("does not export `sluice_plugin_entry`"), result.stdout)
    }

    func testBadArgumentsGetClearErrors() throws {
        let plugin = try build("SINK")
        let badInput = try check(plugin, ["--input", "a:int65"])
        XCTAssertEqual(badInput.status, 78, badInput.output)
        XCTAssertTrue(badInput.stderr.contains("unknown type 'int65'"), badInput.stderr)
        let missing = try check(dir + "/nothing.so")
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.output.contains("nothing.so"), missing.output)
        let badConfig = dir + "/bad.yaml"
        try "fail_open: [unclosed".write(toFile: badConfig, atomically: true, encoding: .utf8)
        let result = try check(plugin, ["--config", badConfig])
        XCTAssertEqual(outcomes(result.stdout)["config-schema"], "FAIL", result.stdout)
        XCTAssertTrue(result.stdout.contains("bad.yaml:2:1: invalid YAML"), "the error names file and line: \(result.stdout)")
    }
}
