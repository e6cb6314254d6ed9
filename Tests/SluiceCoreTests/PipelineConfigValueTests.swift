import Foundation
import XCTest
@testable import SluiceCore

/// Config blocks: YAML typing, JSON conversion, and mapping JSON Pointers back to locations.
final class PipelineConfigValueTests: XCTestCase, PipelineFileTesting {
    // MARK: - JSON conversion

    func testJSONRoundTripsThroughJSONSerialization() throws {
        let spec = try spec(config: #"""
        text: "quote \" backslash \\ tab \t newline \n bell \a nul \0 end"
        unicode: "Grüße, 日本, 🚀"
        nested: [[1, 2], [], [[true, null]], { a: [1.5, -2] }]
        empty_list: []
        empty_map: {}
        big: 12345678901234567890
        hex: 0x1F
        octal: 0o17
        exponent: 1e3
        words: [yes, no, on, off, .inf, ~, Null, FALSE]
        """#)
        let json = spec.sink.configJSON
        XCTAssertFalse(json.contains("\n"), json)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual(object["text"] as? String, "quote \" backslash \\ tab \t newline \n bell \u{07} nul \0 end")
        XCTAssertEqual(object["unicode"] as? String, "Grüße, 日本, 🚀")
        XCTAssertTrue(json.contains("Grüße, 日本, 🚀"), "non-ASCII is written as UTF-8, not escaped: \(json)")
        let nested = try XCTUnwrap(object["nested"] as? [Any])
        XCTAssertEqual(nested.count, 4)
        XCTAssertEqual(nested[0] as? [Int], [1, 2])
        XCTAssertEqual((nested[3] as? [String: Any])?["a"] as? [Double], [1.5, -2])
        XCTAssertEqual(object["hex"] as? Int, 31)
        XCTAssertEqual(object["octal"] as? Int, 15)
        XCTAssertEqual(object["exponent"] as? Double, 1000)
        XCTAssertEqual(object["big"] as? Double, Double("12345678901234567890"))
        XCTAssertTrue(json.contains(#""words":["yes","no","on","off",".inf",null,null,false]"#), json)
    }

    func testPlainScalarsAreTypedByCoreSchema() {
        let here = SourceLocation(file: "f", line: 1, column: 1)
        let cases: [(String, String)] = [
            ("12", "12"), ("+12", "12"), ("-7", "-7"), ("0x1f", "31"), ("0o17", "15"), ("1.5", "1.5"), (".5", "0.5"),
            ("1.", "1.0"), ("-1e-3", "-0.001"), ("", "null"), ("True", "true"),
            ("0x", #""0x""#), ("0o8", #""0o8""#), ("1_000", #""1_000""#), ("12abc", #""12abc""#), ("1e", #""1e""#),
            (".", #"".""#), ("-.inf", #""-.inf""#), (".NaN", #"".NaN""#), ("yes", #""yes""#),
        ]
        for (text, json) in cases {
            XCTAssertEqual(CoreSchema.resolve(text, at: here).jsonText(), json, text)
        }
    }

    func testExplicitTagsOverrideTyping() throws {
        let spec = try spec(config: "a: !!str 5\nb: !!int \"5\"\nc: ! 5")
        XCTAssertEqual(spec.sink.configJSON, #"{"a":"5","b":5,"c":"5"}"#)
    }

    /// Which scalars are typed by their text is read from libyaml's events (untagged and
    /// plain), not from Yams' resolver: anchors, aliases, flow collections, block scalars and
    /// non-ASCII text before a scalar on its line must not shift or hide that.
    func testOnlyUntaggedPlainScalarsAreTypedByTheirText() throws {
        let spec = try spec(config: """
        a: &five 5
        b: *five
        c: &s !!str 6
        d: *s
        é: { x: 7, "y": "8", z: !!str 9, w: [10, '11', ! 12] }
        e: |
          13
        f: >-
          true
        "<<": { g: 14 }
        h: !!float 15
        """)
        XCTAssertEqual(spec.sink.configJSON,
                       #"{"a":5,"b":5,"c":"6","d":"6","é":{"x":7,"y":"8","z":"9","w":[10,"11","12"]},"e":"13\n","f":"true","<<":{"g":14},"h":15}"#)
    }

    func testKeysKeepYAMLOrder() throws {
        let spec = try spec(config: "zeta: 1\nalpha: 2\nmid: { b: 1, a: 2 }")
        XCTAssertEqual(spec.sink.configJSON, #"{"zeta":1,"alpha":2,"mid":{"b":1,"a":2}}"#)
    }

    func testAnchorsAliasesAndMergeKeys() throws {
        let yaml = Self.minimal.replacingOccurrences(of: "sink: { plugin: out }", with: """
        defaults: &defaults
        sink:
          plugin: out
          config:
            base: &base { format: csv, compress: false }
            copy: *base
            merged:
              <<: *base
              compress: true
              extra: 1
        """).replacingOccurrences(of: "defaults: &defaults\n", with: "")
        let spec = try PipelineLoader.parse(yaml: yaml, file: "p.yaml", environment: [:])
        XCTAssertEqual(spec.sink.configJSON, #"{"base":{"format":"csv","compress":false},"copy":{"format":"csv","compress":false},"#
                       + #""merged":{"format":"csv","compress":true,"extra":1}}"#)
    }

    func testDuplicateKeyInConfigIsAnError() throws {
        let errors = try parseErrors(replacing: "sink: { plugin: out }", with: "sink: { plugin: out, config: { a: 1, a: 2 } }")
        XCTAssertEqual(errors.count, 1)
        XCTAssertTrue(errors[0].message.contains("duplicate key 'a'"), errors[0].message)
    }

    // MARK: - Pointers

    func testPointerMapsToNodeLocation() throws {
        let spec = try spec(config: """
        columns:
          - { name: id, type: int }
          - name: at
            type: timestamp
        a/b: slash
        m~n: tilde
        """)
        // The config block starts at line 6; `columns` at 6:5.
        XCTAssertEqual(spec.sink.location(ofPointer: "/columns/0/type"), at(7, 27))
        XCTAssertEqual(spec.sink.location(ofPointer: "/columns/1/type"), at(9, 15))
        XCTAssertEqual(spec.sink.location(ofPointer: "/columns/1"), at(8, 9))
        XCTAssertEqual(spec.sink.location(ofPointer: "/a~1b"), at(10, 10))
        XCTAssertEqual(spec.sink.location(ofPointer: "/m~0n"), at(11, 10))
    }

    func testMissingPointerFallsBackToNearestAncestorOrBlock() throws {
        let spec = try spec(config: "columns:\n  - { name: id }")
        let block = spec.sink.config.location
        XCTAssertEqual(block, at(6, 5))
        XCTAssertEqual(spec.sink.location(ofPointer: "/columns/0/type"), at(7, 9))
        XCTAssertEqual(spec.sink.location(ofPointer: "/columns/5/type"), at(7, 7))
        XCTAssertEqual(spec.sink.location(ofPointer: "/columns/01"), at(7, 7))
        XCTAssertEqual(spec.sink.location(ofPointer: "/nope"), block)
        XCTAssertEqual(spec.sink.location(ofPointer: ""), block)
        XCTAssertEqual(spec.sink.location(ofPointer: "columns"), block)
    }

    func testPointerIntoAbsentConfigIsTheOperatorBlock() throws {
        let spec = try PipelineLoader.parse(yaml: Self.minimal, file: "p.yaml", environment: [:])
        XCTAssertEqual(spec.sink.location(ofPointer: "/x"), at(3, 7))
    }

    // MARK: - Helpers

    /// The minimal pipeline with a sink whose config is `config` (indented by 4), so the
    /// config's first line is line 6.
    private func spec(config: String) throws -> PipelineSpec {
        let body = config.split(separator: "\n", omittingEmptySubsequences: false)
            .map { "    " + $0 }
            .joined(separator: "\n")
        return try parse(replacing: "sink: { plugin: out }", with: "sink:\n  plugin: out\n  config:\n" + body)
    }

    private func at(_ line: Int, _ column: Int) -> SourceLocation {
        SourceLocation(file: "p.yaml", line: line, column: column)
    }
}
