import Foundation
import XCTest

/// `sluice validate` on pipelines with the `fn` transform: every error the issue lists, each
/// at its file, line and column, found without running anything; the ABI 1.1 schema hook
/// carrying column names and types along the chain; and a 1.0 plugin upstream switching those
/// checks off (with a note) in favour of a clear error on the first batch.
final class FunctionTransformValidateTests: XCTestCase {
    private var dir = ""

    override func setUp() { dir = makeTemporaryDirectory("fn-validate") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// A pipeline whose fn block starts on line 4 (line 5 with an upstream transform):
    ///
    ///     5:      library: ...        value at column 16
    ///     6:      symbol: ...         column 15
    ///     7:      signature: ...      column 18
    ///     8:      args: [...]         column 13, first item at 14
    ///     9:      output: ...         column 15
    private func pipeline(library: String = "libm.so.6", symbol: String = "cbrt", signature: String = "double(double)",
                          args: String = "[value]", output: String = "root", format: String = "float64",
                          upstream: String = "") -> String {
        """
        name: fn-check
        source: { plugin: \(Built.sequenceSource), config: { count: 10, batch_size: 4, format: \(format) } }
        transforms:\(upstream.isEmpty ? "" : "\n  - plugin: \(upstream)")
          - fn:
              library: \(library)
              symbol: \(symbol)
              signature: "\(signature)"
              args: \(args)
              output: \(output)
        sink: { plugin: file-sink, config: { directory: \(dir)/out } }
        checkpointing: { interval: off, directory: \(dir)/checkpoints }
        """
    }

    private func validate(_ yaml: String) throws -> RunResult {
        let path = dir + "/p.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return try runProcess(Built.sluice, ["validate", path])
    }

    private func assertError(_ result: RunResult, at location: String, _ text: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, 78, result.output, file: file, line: line)
        let lines = result.stderr.split(separator: "\n").filter { $0.contains("p.yaml:\(location):") }
        XCTAssertTrue(lines.contains { $0.contains(text) }, "expected p.yaml:\(location): ... \(text)\nstderr:\n\(result.stderr)", file: file, line: line)
    }

    // MARK: - Every error of the issue

    func testALibraryThatDoesNotLoad() throws {
        assertError(try validate(pipeline(library: dir + "/libmissing.so")), at: "5:16", "cannot load library '\(dir)/libmissing.so'")
        try "not a library".write(toFile: dir + "/libtext.so", atomically: true, encoding: .utf8)
        assertError(try validate(pipeline(library: dir + "/libtext.so")), at: "5:16", "cannot load library")
        assertError(try validate(pipeline(library: "libdoesnotexist.so.9")), at: "5:16", "a name the dynamic loader finds")
    }

    func testAMissingSymbol() throws {
        assertError(try validate(pipeline(symbol: "cbrtx")), at: "6:15", "library 'libm.so.6' has no exported symbol 'cbrtx'")
    }

    func testASignatureThatDoesNotParse() throws {
        assertError(try validate(pipeline(signature: "double(dubble)")), at: "7:18", "unknown parameter 1 'dubble'")
        assertError(try validate(pipeline(signature: "double(char)")), at: "7:18", "ambiguous")
        assertError(try validate(pipeline(signature: "const char*(double)")), at: "7:18", "free: SYMBOL")
    }

    func testAnArgumentCountThatDoesNotMatch() throws {
        assertError(try validate(pipeline(args: "[value, 2]")), at: "8:13", "'cbrt' takes 1 argument (double(double)) but args lists 2")
        assertError(try validate(pipeline(symbol: "pow", signature: "double(double, double)", args: "[value]")), at: "8:13", "takes 2 arguments")
    }

    func testAColumnThatDoesNotExist() throws {
        let result = try validate(pipeline(symbol: "pow", signature: "double(double, double)", args: "[value, temperature]"))
        assertError(result, at: "8:21", "args[1] names column 'temperature', which is not in the input: it has value (float64)")
        XCTAssertTrue(result.stderr.contains("operator 'transform-1' (plugin fn)"), result.stderr)
    }

    func testAColumnOfATypeTheSignatureCannotTake() throws {
        assertError(try validate(pipeline(signature: "double(const char*)", format: "int64")), at: "8:14",
                    "column 'value' is int64, which parameter 1 of double(const char*) (const char*) cannot take")
        assertError(try validate(pipeline(signature: "int32_t(int32_t)", format: "float64")), at: "8:14", "column 'value' is float64")
        // A literal that does not fit its parameter is caught by the validate hook.
        assertError(try validate(pipeline(symbol: "ldexp", signature: "double(double, int)", args: "[value, 1.5]")), at: "8:21", "is not an integer")
    }

    // MARK: - Schemas along the chain

    func testAValidPipelineShowsEachOperatorsColumns() throws {
        let result = try validate(pipeline(args: "[value]", output: "root", upstream: "pass-through"))
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.stdout.contains("emits: value float64, root float64"), result.stdout)
        XCTAssertTrue(result.stdout.contains("fn 1.0.0 (ABI 1.2"), result.stdout)
        XCTAssertFalse(result.stdout.contains("note:"), result.stdout)
        // The pass-through's hook carried the source's schema to fn: a bad column is still caught.
        assertError(try validate(pipeline(args: "[valeu]", upstream: "pass-through")), at: "9:14", "'valeu', which is not in the input")
    }

    func testAnABI10PluginUpstreamLoadsAndSwitchesColumnChecksToRunTime() throws {
        let old = try Built.cPlugin(source: Built.packageRoot + "/Tests/Fixtures/fn/abi10_pass_through.c", output: dir + "/libabi10.so")
        let yaml = pipeline(args: "[temperature]", upstream: old)
        let result = try validate(yaml)
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.stdout.contains("abi10-pass-through 1.0.0 (ABI 1.0"), result.stdout)
        XCTAssertTrue(result.stdout.contains("note: the columns reaching transform 'transform-2' (plugin fn) are not checked before the run: transform 'transform-1' (plugin abi10-pass-through, ABI 1.0) does not declare the columns it emits"), result.stdout)

        // ...so the first batch does, with a clear error.
        let run = try runProcess(Built.sluice, ["worker", dir + "/p.yaml"], timeout: 60)
        XCTAssertNotEqual(run.status, 0)
        XCTAssertTrue(run.stderr.contains("args[0] names column 'temperature', which is not in the input: it has value (float64)"), run.stderr)

        // With the right column the same pipeline runs through the 1.0 plugin.
        try pipeline(args: "[value]", upstream: old).write(toFile: dir + "/ok.yaml", atomically: true, encoding: .utf8)
        let ok = try runProcess(Built.sluice, ["worker", dir + "/ok.yaml"], timeout: 60)
        XCTAssertEqual(ok.status, 0, ok.stderr)
    }
}
