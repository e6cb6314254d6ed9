import SluiceCore
import XCTest
@testable import SluiceRuntime

/// What `sluice run --watch` does with an edit, for the keys lanes brought.
final class PipelineChangeTests: XCTestCase {
    private func spec(parallelism: Int, sinkDirectory: String) throws -> PipelineSpec {
        try PipelineLoader.parse(yaml: """
            name: p
            parallelism: \(parallelism)
            source: { plugin: sequence-source }
            sink: { plugin: file-sink, config: { directory: \(sinkDirectory) } }
            checkpointing: { directory: /tmp/x }
            """, file: "p.yaml", environment: [:])
    }

    func testAParallelismEditRestartsFromASavepoint() throws {
        XCTAssertEqual(PipelineChange.between(try spec(parallelism: 1, sinkDirectory: "a"), try spec(parallelism: 2, sinkDirectory: "a")),
                       .restartNeeded(["parallelism"]))
    }

    func testASinkEditSwapsWithOneLaneAndRestartsWithSeveral() throws {
        XCTAssertEqual(PipelineChange.between(try spec(parallelism: 1, sinkDirectory: "a"), try spec(parallelism: 1, sinkDirectory: "b")), .sinkOnly)
        XCTAssertEqual(PipelineChange.between(try spec(parallelism: 2, sinkDirectory: "a"), try spec(parallelism: 2, sinkDirectory: "b")),
                       .restartNeeded(["sink (with 2 lanes)"]))
    }
}
