import Foundation
import XCTest
import SluiceCore
import SluiceRuntime

/// The checkpoint store takes the names the pipeline file takes, and only those (`SafeName`).
final class CheckpointStoreNameTests: XCTestCase {
    func testTheStoreAndThePipelineFileAgree() throws {
        let directory = NSTemporaryDirectory() + "sluice-safename-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try CheckpointStore(directory: directory)
        XCTAssertThrowsError(try store.operatorStateDirectory(for: "größe"))
        XCTAssertNoThrow(try store.operatorStateDirectory(for: "sink.clickhouse-sink"))
        XCTAssertThrowsError(try PipelineLoader.parse(yaml: "name: größe\nsource: { plugin: a }\nsink: { plugin: b }\ncheckpointing: { directory: /tmp/x }",
                                                      file: "p.yaml", environment: [:]))
    }
}
