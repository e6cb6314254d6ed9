import Foundation
import XCTest
@testable import SluiceCore

/// Loading whole pipeline files: structure, defaults, and the errors for malformed files.
final class PipelineLoaderTests: XCTestCase, PipelineFileTesting {
    // MARK: - Valid files

    func testFullExampleLoadsWithEveryField() throws {
        let yaml = """
        name: sensors
        source:
          plugin: sequence-source
          name: numbers
          config: { count: 100 }
        transforms:
          - plugin: pass-through
          - sensor-parser: { on_error: dead-letter }
        sink: { plugin: file-sink, config: { directory: out } }
        dead_letter: { plugin: ./plugins/libdlq.so, config: { directory: dlq } }
        checkpointing: { interval: 5s, directory: /var/lib/sluice/x, retained: 4, mode: at-least-once, timeout: 90s }
        restart: { initial_delay: 2s, max_delay: 20s, multiplier: 3, max_restarts: 10, reset_after: 2m }
        queue_capacity: 32
        chain_transforms: true
        """
        let spec = try PipelineLoader.parse(yaml: yaml, file: "p.yaml", environment: [:])

        XCTAssertEqual(spec.name, "sensors")
        XCTAssertEqual(spec.file, "p.yaml")
        XCTAssertEqual(spec.source.name, "numbers")
        XCTAssertEqual(spec.source.plugin, "sequence-source")
        XCTAssertEqual(spec.source.pluginLocation, SourceLocation(file: "p.yaml", line: 3, column: 11))
        XCTAssertEqual(spec.source.configJSON, #"{"count":100}"#)
        XCTAssertEqual(spec.transforms.map(\.name), ["transform-1", "transform-2"])
        XCTAssertEqual(spec.transforms.map(\.role), [.transform(1), .transform(2)])
        XCTAssertEqual(spec.transforms[0].configJSON, "{}")
        XCTAssertEqual(spec.transforms[1].plugin, "sensor-parser")
        XCTAssertEqual(spec.transforms[1].pluginLocation, SourceLocation(file: "p.yaml", line: 8, column: 5))
        XCTAssertEqual(spec.transforms[1].configJSON, #"{"on_error":"dead-letter"}"#)
        XCTAssertEqual(spec.sink.name, "sink")
        XCTAssertEqual(spec.sink.label, "sink 'sink'")
        XCTAssertEqual(spec.deadLetter?.name, "dead-letter")
        XCTAssertEqual(spec.deadLetter?.plugin, "./plugins/libdlq.so")
        XCTAssertEqual(spec.deadLetter?.role, .deadLetter)
        XCTAssertEqual(spec.operators.map(\.name), ["numbers", "transform-1", "transform-2", "sink", "dead-letter"])

        XCTAssertEqual(spec.checkpointing.interval, .seconds(5))
        XCTAssertEqual(spec.checkpointing.directory, "/var/lib/sluice/x")
        XCTAssertEqual(spec.checkpointing.retained, 4)
        XCTAssertEqual(spec.checkpointing.mode, .atLeastOnce)
        XCTAssertEqual(spec.checkpointing.timeout, .seconds(90))

        XCTAssertEqual(spec.restart.initialDelay, .seconds(2))
        XCTAssertEqual(spec.restart.maxDelay, .seconds(20))
        XCTAssertEqual(spec.restart.multiplier, 3)
        XCTAssertEqual(spec.restart.maxRestarts, 10)
        XCTAssertEqual(spec.restart.resetAfter, .seconds(120))
        XCTAssertEqual(spec.queueCapacity, 32)
        XCTAssertTrue(spec.chainTransforms)
    }

    func testMinimalFileGetsDefaults() throws {
        let spec = try PipelineLoader.parse(yaml: Self.minimal, file: "p.yaml", environment: [:])

        XCTAssertTrue(spec.transforms.isEmpty)
        XCTAssertNil(spec.deadLetter)
        XCTAssertEqual(spec.operators.map(\.name), ["source", "sink"])
        XCTAssertEqual(spec.checkpointing.interval, .seconds(10))
        XCTAssertEqual(spec.checkpointing.retained, 3)
        XCTAssertEqual(spec.checkpointing.mode, .exactlyOnce)
        XCTAssertEqual(spec.checkpointing.timeout, .seconds(60))
        XCTAssertEqual(spec.restart.initialDelay, .seconds(1))
        XCTAssertEqual(spec.restart.maxDelay, .seconds(30))
        XCTAssertEqual(spec.restart.multiplier, 2)
        XCTAssertNil(spec.restart.maxRestarts)
        XCTAssertEqual(spec.restart.resetAfter, .seconds(3))
        XCTAssertEqual(spec.queueCapacity, 16)
        XCTAssertFalse(spec.chainTransforms)
        // An absent config is an empty object located at the operator block.
        XCTAssertEqual(spec.source.configJSON, "{}")
        XCTAssertEqual(spec.source.config.location, SourceLocation(file: "p.yaml", line: 2, column: 9))
    }

    func testIntervalOffDisablesCheckpointing() throws {
        let spec = try parse(replacing: "checkpointing: { directory: /tmp/x }",
                             with: "checkpointing: { directory: /tmp/x, interval: off }")
        XCTAssertNil(spec.checkpointing.interval)
    }

    func testEmptyConfigAndEmptyShorthandAreEmptyObjects() throws {
        let spec = try parse(replacing: "sink: { plugin: out }", with: """
        transforms:
          - upper:
          - plugin: lower
            config:
        sink: { plugin: out }
        """)
        XCTAssertEqual(spec.transforms.map(\.plugin), ["upper", "lower"])
        XCTAssertEqual(spec.transforms.map(\.configJSON), ["{}", "{}"])
    }

    func testLoadReadsFileAndNamesMissingPath() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("pipeline.yaml").path
        try Self.minimal.write(toFile: path, atomically: true, encoding: .utf8)

        XCTAssertEqual(try PipelineLoader.load(path: path, environment: [:]).file, path)

        let missing = directory.appendingPathComponent("nope.yaml").path
        let errors = try XCTUnwrap(catchErrors { try PipelineLoader.load(path: missing, environment: [:]) })
        XCTAssertEqual(errors.errors.count, 1)
        XCTAssertNil(errors.errors[0].location)
        XCTAssertTrue(errors.description.contains(missing), errors.description)
        XCTAssertTrue(errors.description.contains("no such file"), errors.description)
    }

    // MARK: - Syntax errors

    func testYAMLSyntaxErrorIsLocated() throws {
        let yaml = """
        name: p
        source: { plugin: gen
        sink: { plugin: out }
        """
        let errors = try XCTUnwrap(catchErrors { try PipelineLoader.parse(yaml: yaml, file: "bad.yaml", environment: [:]) })
        XCTAssertEqual(errors.errors.count, 1)
        let error = errors.errors[0]
        XCTAssertEqual(error.location?.file, "bad.yaml")
        XCTAssertEqual(error.location?.line, 3)
        XCTAssertTrue(error.message.hasPrefix("invalid YAML: "), error.message)
        XCTAssertTrue(error.description.hasPrefix("bad.yaml:3:"), error.description)
    }

    func testBadIndentationIsLocated() throws {
        let yaml = "name: p\nsource:\n  plugin: gen\n bad: 1\n"
        let error = try XCTUnwrap(catchErrors { try PipelineLoader.parse(yaml: yaml, file: "f.yaml", environment: [:]) }?.errors.first)
        XCTAssertEqual(error.location?.line, 4)
        XCTAssertTrue(error.message.contains("invalid YAML"), error.message)
    }

    func testDuplicateKeyInMappingIsAnError() throws {
        let errors = try parseErrors(replacing: "name: p", with: "name: p\nqueue_capacity: 1\nqueue_capacity: 2")
        XCTAssertEqual(errors.count, 1)
        XCTAssertTrue(errors[0].message.contains("duplicate key 'queue_capacity'"), errors[0].message)
        XCTAssertEqual(errors[0].location?.line, 2)
    }

    func testEmptyFileAndNonMappingRoot() throws {
        let empty = try XCTUnwrap(catchErrors { try PipelineLoader.parse(yaml: "", file: "e.yaml", environment: [:]) })
        XCTAssertTrue(empty.description.contains("empty"), empty.description)

        let list = try XCTUnwrap(catchErrors { try PipelineLoader.parse(yaml: "- a\n- b\n", file: "l.yaml", environment: [:]) })
        XCTAssertEqual(list.errors.count, 1)
        XCTAssertEqual(list.description, "l.yaml:1:1: the pipeline file must be a mapping, got a list")
    }

    // MARK: - Missing sections

    func testMissingRequiredSectionsAreAllReported() throws {
        let errors = try XCTUnwrap(catchErrors { try PipelineLoader.parse(yaml: "queue_capacity: 4\n", file: "p.yaml", environment: [:]) })
        let messages = errors.errors.map(\.message)
        for key in ["name", "source", "sink", "checkpointing"] {
            XCTAssertTrue(messages.contains("missing required key '\(key)' in the pipeline file"), "\(messages)")
        }
        XCTAssertEqual(messages.count, 4, "\(messages)")
    }

    func testMissingPluginAndDirectory() throws {
        let errors = try parseErrors(replacing: "checkpointing: { directory: /tmp/x }", with: """
        checkpointing:
          retained: 2
        transforms:
          - name: t
        """)
        XCTAssertEqual(errors.map(\.description), [
            "p.yaml:4:1: missing required key 'directory' in checkpointing",
            "p.yaml:7:5: missing required key 'plugin' in transforms item 1",
        ])
    }

    // MARK: - Unknown keys

    func testUnknownKeyInCheckpointingSuggestsClosest() throws {
        let errors = try parseErrors(replacing: "checkpointing: { directory: /tmp/x }", with: """
        checkpointing:
          directory: /tmp/x
          intervall: 5s
        """)
        XCTAssertEqual(errors.map(\.description), [
            "p.yaml:6:3: unknown key 'intervall' in checkpointing; did you mean 'interval'? "
                + "Known keys: interval, directory, retained, mode, timeout, s3, local_directory",
        ])
    }

    func testUnknownKeysAtEveryLevel() throws {
        let yaml = """
        nmae: p
        source: { plugin: gen, confg: {} }
        transforms:
          - { plugin: t, nam: x }
        sink: { plugin: out }
        checkpointing: { directory: /tmp/x, retaind: 2 }
        restart: { max_dealy: 5s }
        """
        let errors = try XCTUnwrap(catchErrors { try PipelineLoader.parse(yaml: yaml, file: "p.yaml", environment: [:]) }).errors
        let messages = errors.map(\.description)
        XCTAssertTrue(messages.contains { $0.hasPrefix("p.yaml:1:1: unknown key 'nmae' in the pipeline file; did you mean 'name'? Known keys: name, source,") }, "\(messages)")
        XCTAssertTrue(messages.contains { $0.hasPrefix("p.yaml:2:24: unknown key 'confg' in source; did you mean 'config'? Known keys: plugin, name, config") }, "\(messages)")
        XCTAssertTrue(messages.contains { $0.hasPrefix("p.yaml:4:18: unknown key 'nam' in transforms item 1; did you mean 'name'?") }, "\(messages)")
        XCTAssertTrue(messages.contains { $0.hasPrefix("p.yaml:6:37: unknown key 'retaind' in checkpointing; did you mean 'retained'?") }, "\(messages)")
        XCTAssertTrue(messages.contains { $0.hasPrefix("p.yaml:7:12: unknown key 'max_dealy' in restart; did you mean 'max_delay'?") }, "\(messages)")
        // The misspelt `nmae` also leaves `name` missing; both are reported.
        XCTAssertTrue(messages.contains { $0.hasSuffix("missing required key 'name' in the pipeline file") }, "\(messages)")
    }

    func testMisspeltPluginKeyIsNotTakenForShorthand() throws {
        let errors = try parseErrors(replacing: "sink: { plugin: out }", with: "sink: { plugn: out }")
        // Sorted by position: the missing key is reported at `sink:`, before `plugn`.
        XCTAssertEqual(errors.map(\.message), [
            "missing required key 'plugin' in sink",
            "unknown key 'plugn' in sink; did you mean 'plugin'? Known keys: plugin, name, config",
        ])
    }

    func testUnknownKeyFarFromAnyGetsNoSuggestion() throws {
        let errors = try parseErrors(replacing: "name: p", with: "name: p\nwhatever: 1")
        XCTAssertEqual(errors.map(\.message), [
            "unknown key 'whatever' in the pipeline file; known keys: name, source, transforms, sink, dead_letter, "
                + "checkpointing, restart, queue_capacity, chain_transforms, parallelism, admin, status_interval",
        ])
    }

    // MARK: - Wrong types and ranges

    func testWrongTypesNameExpectedAndActual() throws {
        let yaml = """
        name: p
        source: { plugin: gen, config: [1, 2] }
        transforms: gen
        sink: { plugin: 42 }
        checkpointing: { directory: /tmp/x, retained: three, mode: once, timeout: 0s, interval: soon }
        restart: { multiplier: 0.5, max_restarts: -1, initial_delay: 10s, max_delay: 1s }
        queue_capacity: 0
        chain_transforms: yes
        """
        let errors = try XCTUnwrap(catchErrors { try PipelineLoader.parse(yaml: yaml, file: "p.yaml", environment: [:]) }).errors
        XCTAssertEqual(errors.map(\.description), [
            "p.yaml:2:32: config must be a mapping (it is handed to the plugin as a JSON object), got a list",
            "p.yaml:3:13: transforms must be a list, got 'gen'",
            "p.yaml:4:17: plugin must be a non-empty string, got 42",
            "p.yaml:5:47: retained must be an integer >= 1, got 'three'",
            "p.yaml:5:60: mode must be one of exactly-once, at-least-once, got 'once'",
            "p.yaml:5:75: timeout must be a positive duration such as 250ms, 5s, 2m or 1h, got '0s'",
            "p.yaml:5:89: interval must be a positive duration such as 250ms, 5s, 2m or 1h, or off, got 'soon'",
            "p.yaml:6:24: multiplier must be a number >= 1, got 0.5",
            "p.yaml:6:43: max_restarts must be an integer >= 0, got -1",
            "p.yaml:6:78: max_delay must not be shorter than initial_delay",
            "p.yaml:7:17: queue_capacity must be an integer from 1 to 65536, got 0",
            "p.yaml:8:19: chain_transforms must be true or false, got 'yes'",
        ])
    }

    func testInvalidPipelineAndOperatorNames() throws {
        let errors = try parseErrors(replacing: "name: p", with: "name: my pipeline\ntransforms: [{ plugin: t, name: \"a/b\" }]")
        XCTAssertEqual(errors.map(\.message), [
            "name must be 1 to 128 of A-Z a-z 0-9 _ . - (ASCII), not starting with a dot, got 'my pipeline'",
            "name must be 1 to 128 of A-Z a-z 0-9 _ . - (ASCII), not starting with a dot, got 'a/b'",
        ])
    }

    // MARK: - Operator names

    func testDuplicateOperatorNamesAreRejected() throws {
        let errors = try parseErrors(replacing: "sink: { plugin: out }", with: """
        transforms:
          - { plugin: a, name: step }
          - { plugin: b, name: step }
          - { plugin: c, name: sink }
        sink: { plugin: out }
        """)
        XCTAssertEqual(errors.map(\.description), [
            "p.yaml:5:24: duplicate operator name 'step': transform 'step' at p.yaml:4:24 already uses it; "
                + "give each operator a unique 'name:'",
            "p.yaml:7:7: duplicate operator name 'sink': transform 'sink' at p.yaml:6:24 already uses it; "
                + "give each operator a unique 'name:'",
        ])
    }

    // MARK: - Error reporting

    func testErrorsAreSortedAndPrintedOnePerLine() throws {
        let errors = try XCTUnwrap(catchErrors {
            try PipelineLoader.parse(yaml: "queue_capacity: x\nname: [1]\n", file: "p.yaml", environment: [:])
        })
        let lines = errors.description.split(separator: "\n")
        XCTAssertEqual(lines.count, errors.errors.count)
        let positions = errors.errors.compactMap(\.location).map { [$0.line, $0.column] }
        XCTAssertEqual(positions, positions.sorted { $0.lexicographicallyPrecedes($1) })
        XCTAssertEqual(PipelineError(location: nil, message: "m").description, "m")
    }
}

// MARK: - Helpers shared by the pipeline tests

/// Pipeline test cases adopt this to share a minimal file and error helpers without adding
/// them to every XCTestCase in the target.
/// Files whose aliases expand beyond reason are refused before anything expands them.
final class PipelineAliasBombTests: XCTestCase, PipelineFileTesting {
    /// Nine levels of nine aliases each: 9^9 (387 million) strings from 12 lines.
    static let billionLaughs = """
    name: p
    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
    b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
    c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
    d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
    e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
    f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
    g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
    h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
    i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
    source: { plugin: gen, config: { x: *i } }
    """

    func testBillionLaughsIsRefusedAtTheAliasThatCrossesTheLimit() throws {
        let errors = try XCTUnwrap(catchErrors { try PipelineLoader.parse(yaml: Self.billionLaughs, file: "bomb.yaml", environment: [:]) })
        XCTAssertEqual(errors.errors.count, 1)
        let error = try XCTUnwrap(errors.errors.first)
        // Lines 1-6 hold 74,740 values once expanded (level e alone 66,430): the first alias on
        // line 7 adds another 66,430 and crosses the limit of 100,000.
        XCTAssertEqual(error.location, SourceLocation(file: "bomb.yaml", line: 7, column: 8))
        XCTAssertTrue(error.message.contains("more than 100000 values"), error.message)
    }

    func testAnAliasAsAMappingKeyIsCaughtToo() throws {
        let yaml = Self.billionLaughs.replacingOccurrences(of: "source: { plugin: gen, config: { x: *i } }",
                                                           with: "source: { plugin: gen, config: { ? *i : 1 } }")
        XCTAssertNotNil(catchErrors { try PipelineLoader.parse(yaml: yaml, file: "bomb.yaml", environment: [:]) })
    }

    func testOrdinaryAliasesAndMergeKeysStillWork() throws {
        let spec = try PipelineLoader.parse(yaml: """
        name: p
        source: { plugin: gen, config: &defaults { url: "http://x", retries: 3 } }
        sink: { plugin: out, config: { <<: *defaults, retries: 5 } }
        dead_letter: { plugin: out, config: *defaults }
        checkpointing: { directory: /tmp/x }
        """, file: "p.yaml", environment: [:])
        XCTAssertEqual(spec.sink.configJSON, #"{"url":"http://x","retries":5}"#)
        XCTAssertEqual(spec.deadLetter?.configJSON, #"{"url":"http://x","retries":3}"#)
    }
}

protocol PipelineFileTesting: XCTestCase {}

extension PipelineFileTesting {
    /// A valid pipeline with only the required parts, four lines long.
    static var minimal: String {
        """
        name: p
        source: { plugin: gen }
        sink: { plugin: out }
        checkpointing: { directory: /tmp/x }
        """
    }

    /// The `PipelineErrors` `body` throws, or `nil` (and a failure) when it does not throw them.
    func catchErrors(_ body: () throws -> Any, file: StaticString = #filePath, line: UInt = #line) -> PipelineErrors? {
        do {
            _ = try body()
            XCTFail("expected PipelineErrors", file: file, line: line)
        } catch let errors as PipelineErrors {
            return errors
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
        return nil
    }

    /// Parses `minimal` with `original` replaced by `replacement`.
    func parse(replacing original: String, with replacement: String, environment: [String: String] = [:]) throws -> PipelineSpec {
        XCTAssertTrue(Self.minimal.contains(original))
        return try PipelineLoader.parse(yaml: Self.minimal.replacingOccurrences(of: original, with: replacement),
                                        file: "p.yaml", environment: environment)
    }

    /// The errors of `minimal` with `original` replaced by `replacement`.
    func parseErrors(
        replacing original: String, with replacement: String, environment: [String: String] = [:],
        file: StaticString = #filePath, line: UInt = #line
    ) throws -> [PipelineError] {
        try XCTUnwrap(catchErrors({ try self.parse(replacing: original, with: replacement, environment: environment) },
                                  file: file, line: line)).errors
    }
}
