import Foundation
import XCTest
@testable import PluginSDK

final class PluginTemplateTests: XCTestCase {
    private var packageRoot: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }

    func testTheEmbeddedHeaderIsTheABIHeader() throws {
        let file = try String(contentsOfFile: packageRoot + "/Sources/PluginABI/include/sluice_plugin.h", encoding: .utf8)
        XCTAssertEqual(PluginHeader.text, file)
        XCTAssertEqual(PluginHeader.version, "1.2")
        XCTAssertTrue(PluginHeader.pkgConfig(directory: "/opt/x").contains("Cflags: -I${includedir}"))
    }

    func testTheManifestListsEveryTemplateFile() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: packageRoot + "/Sources/PluginSDK/Templates")
            .filter { $0.hasSuffix(".tmpl") }.sorted()
        XCTAssertEqual(TemplateManifest.fileNames, files, "run scripts/lib/template-manifest.py")
    }

    func testSectionsKeepTheLinesOfTheirKind() throws {
        let text = "a {{name}}\n{{#sink}}\nsink {{ident}}\n{{/sink}}\n{{^sink}}\nnot a sink: {{kind}} {{Type}}\n{{/sink}}\nend"
        XCTAssertEqual(try PluginTemplate.render(text, name: "my-sink", kind: .sink), "a my-sink\nsink my_sink\nend")
        XCTAssertEqual(try PluginTemplate.render(text, name: "my-sink", kind: .source), "a my-sink\nnot a sink: source MySink\nend")
    }

    func testMalformedSectionsAreErrors() {
        XCTAssertThrowsError(try PluginTemplate.render("{{#sink}}\nx", name: "a", kind: .sink))
        XCTAssertThrowsError(try PluginTemplate.render("{{/sink}}", name: "a", kind: .sink))
        XCTAssertThrowsError(try PluginTemplate.render("{{#sink}}\n{{#source}}\n{{/source}}\n{{/sink}}", name: "a", kind: .sink))
        XCTAssertThrowsError(try PluginTemplate.render("{{#sinks}}\n{{/sinks}}", name: "a", kind: .sink))
    }

    func testEveryLanguageAndKindRendersWithoutLeftoverPlaceholders() throws {
        for language in PluginTemplate.Language.allCases {
            for kind in PluginTemplate.Kind.allCases {
                let files = try PluginTemplate.files(name: "my-plugin", kind: kind, language: language)
                XCTAssertTrue(files.contains { $0.path == "test.sh" && $0.executable }, "\(language) \(kind)")
                XCTAssertTrue(files.contains { $0.path == "README.md" }, "\(language) \(kind)")
                for file in files where file.path != "README.md" || true {
                    XCTAssertFalse(file.contents.contains("{{"), "\(language) \(kind) \(file.path) keeps a placeholder")
                }
                XCTAssertEqual(files.contains { $0.path.hasSuffix("sluice_plugin.h") }, language != .rust, "\(language)")
            }
        }
    }

    func testPluginNamesAreChecked() {
        XCTAssertNil(PluginTemplate.nameProblem("my-sink2"))
        for bad in ["", "My-sink", "9lives", "my_sink", "my--sink", "sink-", "a.b"] {
            XCTAssertNotNil(PluginTemplate.nameProblem(bad), bad)
        }
        XCTAssertThrowsError(try PluginTemplate.files(name: "Bad", kind: .sink, language: .c))
    }
}
