import Foundation
import XCTest

/// The README and docs/ cannot drift from the code: every YAML block in them validates against
/// the build, and every `sluice validate pipelines/...` command they show succeeds.
///
/// A block that is a whole pipeline (it has `name:` and `source:`) is validated as it is. A
/// fragment (a `sink:` block, a transform, an `admin:` section) is validated inside the sensor
/// pipeline: its top-level sections replace the pipeline's, a `transforms:` list is appended
/// after the sensor parser, and a bare list item is the pipeline's only transform.
final class DocsTests: XCTestCase {
    private var dir = ""
    override func setUp() { dir = makeTemporaryDirectory("docs") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    static var documents: [String] {
        let docs = (try? FileManager.default.contentsOfDirectory(atPath: Built.packageRoot + "/docs")) ?? []
        return ["README.md"] + docs.filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
    }

    /// The fenced blocks of `language` in `document`, with the line each starts on.
    static func blocks(_ language: String, in document: String) throws -> [(line: Int, text: String)] {
        let text = try String(contentsOfFile: Built.packageRoot + "/" + document, encoding: .utf8)
        var blocks: [(Int, String)] = []
        var current: [String]?
        var start = 0
        for (number, line) in text.components(separatedBy: "\n").enumerated() {
            if current == nil, line == "```" + language {
                current = []
                start = number + 2
            } else if current != nil, line == "```" {
                blocks.append((start, current!.joined(separator: "\n")))
                current = nil
            } else if current != nil {
                current!.append(line)
            }
        }
        return blocks
    }

    /// The sensor pipeline's sections, as fragments are placed in.
    static let base: [(key: String, text: String)] = [
        ("name", "name: docs"),
        ("source", "source: { plugin: pulsar-source, config: { service_url: \"pulsar://127.0.0.1:6650\", topic: sensors, subscription: s } }"),
        ("transforms", """
        transforms:
          - plugin: sensor-parser
            config:
              columns:
                - { name: sensor_id, type: string }
                - { name: temperature, type: float64 }
                - { name: seq, type: uint64 }
        """),
        ("sink", "sink: { plugin: clickhouse-sink, config: { url: \"http://127.0.0.1:8123\", table: sensor_readings } }"),
        ("dead_letter", "dead_letter: { plugin: clickhouse-sink, config: { url: \"http://127.0.0.1:8123\", table: errors, ignore_unknown_columns: true } }"),
        ("checkpointing", "checkpointing: { directory: /tmp/sluice-docs-checkpoints }"),
    ]

    /// A whole pipeline for `block`.
    static func pipeline(for block: String) -> String {
        let lines = block.components(separatedBy: "\n")
        if lines.contains(where: { $0.hasPrefix("name:") }) && lines.contains(where: { $0.hasPrefix("source:") }) { return block }
        var sections = base
        if block.hasPrefix("- ") {
            sections = sections.map { $0.key == "transforms" ? ("transforms", "transforms:\n" + indent(block)) : $0 }
            return sections.map(\.text).joined(separator: "\n")
        }
        // Top-level sections of the fragment, each with the lines below it.
        var own: [(key: String, text: String)] = []
        for line in lines {
            if let colon = line.firstIndex(of: ":"), !line.hasPrefix(" "), !line.hasPrefix("#"), !line.isEmpty {
                own.append((String(line[..<colon]), line))
            } else if !own.isEmpty {
                own[own.count - 1].text += "\n" + line
            }
        }
        for section in own {
            if section.key == "transforms", let index = sections.firstIndex(where: { $0.key == "transforms" }) {
                sections[index].text += "\n" + section.text.components(separatedBy: "\n").dropFirst().joined(separator: "\n")
            } else if let index = sections.firstIndex(where: { $0.key == section.key }) {
                sections[index] = section
            } else {
                sections.append(section)
            }
        }
        return sections.map(\.text).joined(separator: "\n")
    }

    private static func indent(_ text: String) -> String {
        text.components(separatedBy: "\n").map { "  " + $0 }.joined(separator: "\n")
    }

    /// The secrets the docs' blocks name, set as a deployment sets them: validate checks that
    /// a secret's variable is set.
    static let secrets = ["CLICKHOUSE_PASSWORD": "docs-password", "PULSAR_TOKEN": "docs-token"]

    /// Pages whose pipelines name plugins the reader builds first; PluginTemplatesTests builds
    /// them and validates these blocks.
    static let pagesWithOwnPlugins: Set<String> = ["docs/writing-a-plugin.md"]

    func testEveryYAMLBlockValidates() throws {
        var checked = 0
        for document in Self.documents where !Self.pagesWithOwnPlugins.contains(document) {
            for (line, block) in try Self.blocks("yaml", in: document) {
                let path = dir + "/block-\(checked).yaml"
                try Self.pipeline(for: block).write(toFile: path, atomically: true, encoding: .utf8)
                let result = try runProcess(Built.sluice, ["validate", path], environment: Self.secrets)
                XCTAssertEqual(result.status, 0, "\(document):\(line): this block does not validate:\n\(block)\n\(result.output)")
                checked += 1
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 8, "the README and docs/ show pipeline blocks")
    }

    func testEveryValidateCommandShownSucceeds() throws {
        var checked = 0
        for document in Self.documents {
            for (line, block) in try Self.blocks("sh", in: document) {
                for command in block.components(separatedBy: "\n") {
                    let words = command.split(separator: "#", maxSplits: 1).first.map { $0.split(separator: " ").map(String.init) } ?? []
                    guard words.count == 3, words[0] == "sluice", words[1] == "validate", words[2].hasPrefix("pipelines/") else { continue }
                    let result = try runProcess(Built.sluice, ["validate", Built.packageRoot + "/" + words[2]])
                    XCTAssertEqual(result.status, 0, "\(document):\(line): `\(command)` failed:\n\(result.output)")
                    checked += 1
                }
            }
        }
        XCTAssertGreaterThanOrEqual(checked, 2)
    }
}
