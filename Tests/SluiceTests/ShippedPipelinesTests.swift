import Foundation
import XCTest

/// Every pipeline file shipped in pipelines/ validates against what one build produced: its
/// plugins and libraries are found by name, with no hand-built file and no variable set.
final class ShippedPipelinesTests: XCTestCase {
    func testEveryShippedPipelineValidatesAfterOneBuild() throws {
        let folder = Built.packageRoot + "/pipelines"
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".yaml") }.sorted()
        XCTAssertGreaterThanOrEqual(files.count, 5, "pipelines/ holds the shipped examples")
        for file in files {
            let result = try runProcess(Built.sluice, ["validate", folder + "/" + file])
            XCTAssertEqual(result.status, 0, "\(file):\n\(result.output)")
        }
    }

    /// The calibration example runs end to end: the sequence source and libcalibrate.so come
    /// from the build, found by name.
    func testTheCalibrationPipelineRunsAsShipped() throws {
        let dir = makeTemporaryDirectory("shipped-calibration")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try runProcess(Built.sluice, ["run", Built.packageRoot + "/pipelines/calibration.yaml"],
                                    environment: ["COUNT": "20", "OUTPUT_DIR": dir + "/out", "SLUICE_CHECKPOINT_DIR": dir + "/checkpoints"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = try FileManager.default.contentsOfDirectory(atPath: dir + "/out").filter { $0.hasSuffix(".jsonl") }
            .map { try String(contentsOfFile: dir + "/out/" + $0, encoding: .utf8) }.joined().split(separator: "\n")
        XCTAssertEqual(lines.count, 20)
        XCTAssertTrue(lines.contains(#"{"value":2.0,"celsius":3.0,"grade":"low"}"#), lines.prefix(3).joined(separator: "\n"))
    }
}
