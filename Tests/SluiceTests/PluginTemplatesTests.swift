import Foundation
import XCTest

/// `sluice plugins new` writes a skeleton that builds with its language's own tools and passes
/// `sluice plugins check` through its own test.sh; `sluice plugins header` gives the header.
final class PluginTemplatesTests: XCTestCase {
    private var dir = ""

    override func setUpWithError() throws { dir = makeTemporaryDirectory("templates") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// The test environment: the sluice under test, and cargo where rustup puts it.
    private var environment: [String: String] {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return ["SLUICE": Built.sluice, "PATH": "\(path):\(NSHomeDirectory())/.cargo/bin:/opt/swift/usr/bin"]
    }

    /// Writes the skeleton, runs its test.sh, and asserts that it built and passed the checker.
    private func assertTemplateBuildsAndPasses(_ language: String, _ kind: String, name: String? = nil,
                                               file: StaticString = #filePath, line: UInt = #line) throws {
        let name = name ?? "t-\(language)-\(kind)"
        let folder = dir + "/" + name
        let created = try runProcess(Built.sluice, ["plugins", "new", name, "--kind", kind, "--lang", language, "--output", folder])
        XCTAssertEqual(created.status, 0, created.output, file: file, line: line)
        let tested = try runProcess(folder + "/test.sh", [], environment: environment, timeout: 600)
        XCTAssertEqual(tested.status, 0, "\(language) \(kind): \(tested.output.suffix(4000))", file: file, line: line)
        XCTAssertTrue(tested.stdout.contains("PASS: "), tested.stdout, file: file, line: line)
        XCTAssertFalse(tested.stdout.contains("  FAIL "), tested.stdout, file: file, line: line)
    }

    func testCTemplates() throws {
        for kind in ["source", "transform", "sink"] { try assertTemplateBuildsAndPasses("c", kind) }
    }

    func testCppTemplates() throws {
        for kind in ["source", "transform", "sink"] { try assertTemplateBuildsAndPasses("cpp", kind) }
    }

    func testRustTemplates() throws {
        for kind in ["source", "transform"] { try assertTemplateBuildsAndPasses("rust", kind) }
        // The sink is the one docs/writing-a-plugin.md walks through: its pipeline must validate.
        try assertTemplateBuildsAndPasses("rust", "sink", name: "my-sink")
        let blocks = try DocsTests.blocks("yaml", in: "docs/writing-a-plugin.md")
        XCTAssertFalse(blocks.isEmpty)
        for (line, block) in blocks {
            let path = dir + "/doc-\(line).yaml"
            try block.write(toFile: path, atomically: true, encoding: .utf8)
            let result = try runProcess(Built.sluice, ["validate", path, "--plugin-path", dir + "/my-sink/target/release"])
            XCTAssertEqual(result.status, 0, "docs/writing-a-plugin.md:\(line): \(result.output)")
        }
    }

    func testSwiftTemplates() throws {
        for kind in ["source", "transform", "sink"] { try assertTemplateBuildsAndPasses("swift", kind) }
    }

    func testNewRefusesBadNamesAndExistingFolders() throws {
        let bad = try runProcess(Built.sluice, ["plugins", "new", "My_Sink", "--kind", "sink", "--lang", "c", "--output", dir + "/x"])
        XCTAssertEqual(bad.status, 78, bad.output)
        XCTAssertTrue(bad.stderr.contains("lowercase"), bad.stderr)
        let kind = try runProcess(Built.sluice, ["plugins", "new", "ok", "--kind", "filter", "--lang", "c", "--output", dir + "/x"])
        XCTAssertTrue(kind.stderr.contains("use source, transform or sink"), kind.stderr)
        try FileManager.default.createDirectory(atPath: dir + "/taken", withIntermediateDirectories: true)
        let taken = try runProcess(Built.sluice, ["plugins", "new", "ok", "--kind", "sink", "--lang", "c", "--output", dir + "/taken"])
        XCTAssertNotEqual(taken.status, 0)
        XCTAssertTrue(taken.stderr.contains("already exists"), taken.stderr)
    }

    func testHeaderIsPrintedAndWrittenWithAPkgConfigFile() throws {
        let header = try String(contentsOfFile: Built.abiInclude + "/sluice_plugin.h", encoding: .utf8)
        let printed = try runProcess(Built.sluice, ["plugins", "header"])
        XCTAssertEqual(printed.stdout, header)
        let written = try runProcess(Built.sluice, ["plugins", "header", "--output", dir + "/sdk"])
        XCTAssertEqual(written.status, 0, written.output)
        XCTAssertEqual(try String(contentsOfFile: dir + "/sdk/sluice_plugin.h", encoding: .utf8), header)
        // A plugin builds against the written header alone, found through pkg-config's flags.
        let pc = try String(contentsOfFile: dir + "/sdk/sluice-plugin.pc", encoding: .utf8)
        XCTAssertTrue(pc.contains("Cflags: -I${includedir}") && pc.contains("prefix=\(dir)/sdk"), pc)
        let built = try runProcess("/usr/bin/env", ["cc", "-shared", "-fPIC", "-I", dir + "/sdk", "-o", dir + "/seq.so",
                                                     Built.packageRoot + "/Examples/sequence-source/sequence_source.c"])
        XCTAssertEqual(built.status, 0, built.output)
    }
}
