import Foundation
import XCTest

/// The `fn` transform in real pipelines: the example library through pipelines/calibration.yaml,
/// and rejected rows reaching the dead-letter sink.
final class FunctionTransformPipelineTests: XCTestCase {
    private var dir = ""

    override func setUp() { dir = makeTemporaryDirectory("fn-pipeline") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    /// Every JSON line of the committed part files, as objects.
    private func committedRows(_ directory: String) throws -> [[String: Any]] {
        var rows: [[String: Any]] = []
        for file in try FileManager.default.contentsOfDirectory(atPath: directory) where file.hasPrefix("part-") {
            for line in try String(contentsOfFile: directory + "/" + file, encoding: .utf8).split(separator: "\n") {
                rows.append(try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any])
            }
        }
        return rows
    }

    func testTheCalibrationExamplePipeline() throws {
        let library = try Built.cPlugin(source: Built.packageRoot + "/Examples/calibration/calibrate.c", output: dir + "/libcalibrate.so")
        let pipeline = Built.packageRoot + "/pipelines/calibration.yaml"
        let environment = [
            "SLUICE_PLUGIN_PATH": (Built.sequenceSource as NSString).deletingLastPathComponent,
            "CALIBRATION_LIBRARY": library, "COUNT": "1000",
            "OUTPUT_DIR": dir + "/out", "SLUICE_CHECKPOINT_DIR": dir + "/checkpoints",
        ]
        let validate = try runProcess(Built.sluice, ["validate", pipeline], environment: environment)
        XCTAssertEqual(validate.status, 0, validate.output)
        XCTAssertTrue(validate.stdout.contains("emits: value float64, celsius float64, grade utf8?"), validate.stdout)

        let run = try runProcess(Built.sluice, ["run", pipeline], environment: environment, timeout: 60)
        XCTAssertEqual(run.status, 0, run.stderr)
        let rows = try committedRows(dir + "/out")
        XCTAssertEqual(rows.count, 1000)
        var seen = Set<Int>()
        for row in rows {
            let value = row["value"] as! Double
            let celsius = row["celsius"] as! Double
            XCTAssertEqual(celsius, (value - 0.5) * 2.0)
            let expected = celsius < 100 ? "low" : celsius < 1000 ? "normal" : "high"
            XCTAssertEqual(row["grade"] as? String, expected)
            seen.insert(Int(value))
        }
        XCTAssertEqual(seen, Set(1...1000), "every reading once")
    }

    func testRowsThatDoNotFitTheParameterGoToTheDeadLetterSink() throws {
        let library = try Built.cPlugin(source: Built.packageRoot + "/Tests/Fixtures/fn/types.c", output: dir + "/libfntypes.so")
        let path = dir + "/p.yaml"
        try """
        name: fn-dead-letters
        source: { plugin: \(Built.sequenceSource), config: { count: 300, batch_size: 64 } }
        transforms:
          - fn: { library: \(library), symbol: neg_i8, signature: "int8_t(int8_t)", args: [value], output: negated }
        sink: { plugin: file-sink, config: { directory: \(dir)/out } }
        dead_letter: { plugin: file-sink, config: { directory: \(dir)/rejected } }
        checkpointing: { interval: 200ms, directory: \(dir)/checkpoints }
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let run = try runProcess(Built.sluice, ["run", path], timeout: 60)
        XCTAssertEqual(run.status, 0, run.stderr)

        let kept = try committedRows(dir + "/out")
        XCTAssertEqual(kept.count, 127)
        XCTAssertTrue(kept.allSatisfy { ($0["negated"] as! Int) == -($0["value"] as! Int) })
        let rejected = try committedRows(dir + "/rejected")
        XCTAssertEqual(rejected.map { $0["value"] as! Int }.sorted(), Array(128...300))
        XCTAssertEqual(rejected.first?["error_reason"] as? String,
                       "column 'value' = \(rejected.first!["value"] as! Int) does not fit parameter 1 (int8_t) of neg_i8")
    }
}
