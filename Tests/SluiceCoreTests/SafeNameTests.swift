import Foundation
import XCTest
@testable import SluiceCore

/// One rule for names, wherever a name is checked: the pipeline file, the admin API and the
/// checkpoint store agree.
final class SafeNameTests: XCTestCase {
    func testTheRule() {
        for good in ["a", "sensors", "reload-20261126T091502Z", "v1.2_x", String(repeating: "n", count: 128)] {
            XCTAssertTrue(SafeName.isValid(good), good)
        }
        for bad in ["", ".hidden", "a/b", "my pipeline", "größe", "名前", "a\u{0}b", String(repeating: "n", count: 129)] {
            XCTAssertFalse(SafeName.isValid(bad), bad)
        }
    }

    func testTheStoreAndThePipelineFileAgree() throws {
        let directory = NSTemporaryDirectory() + "sluice-safename-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try CheckpointStore(directory: directory)
        XCTAssertThrowsError(try store.operatorStateDirectory(for: "größe"))
        XCTAssertNoThrow(try store.operatorStateDirectory(for: "sink.clickhouse-sink"))
        XCTAssertThrowsError(try PipelineLoader.parse(yaml: "name: größe\nsource: { plugin: a }\nsink: { plugin: b }\ncheckpointing: { directory: /tmp/x }",
                                                      file: "p.yaml", environment: [:]))
    }

    func testSanitizedNamesFollowTheRule() {
        XCTAssertEqual(SafeName.sanitized("click house/sink"), "click_house_sink")
        XCTAssertEqual(SafeName.sanitized(".x"), "_x")
        XCTAssertEqual(SafeName.sanitized(""), "_")
        XCTAssertTrue(SafeName.isValid(SafeName.sanitized("größe")))
    }
}
