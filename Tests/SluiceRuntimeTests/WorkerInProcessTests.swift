import Foundation
import XCTest
import SluiceCore
@testable import SluiceRuntime

/// The worker run in this process, with the package's C sequence source and file sink: the
/// runtime's own behaviour, without the supervisor or a second process.
final class WorkerInProcessTests: XCTestCase {
    private var dir = ""

    /// Where the package's plugins are built: beside this test bundle.
    private static let buildDirectory: String = {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (executable as NSString).deletingLastPathComponent
    }()

    override func setUp() {
        dir = NSTemporaryDirectory() + "sluice-inprocess-\(UUID().uuidString.prefix(8))"
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    private func run(count: Int) throws -> Worker.Outcome {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/pipeline.yaml"
        try """
        name: in-process
        source: { plugin: sequence-source, config: { count: \(count), batch_size: 100 } }
        sink: { plugin: file-sink, config: { directory: \(dir)/out } }
        checkpointing: { interval: 20ms, directory: \(dir)/checkpoints, mode: exactly-once }
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let plan = try PipelinePlan.load(path: path, searchPath: PluginSearchPath(flag: [Self.buildDirectory]))
        return try Worker(plan: plan, options: .init()).run()
    }

    /// The committed values, from the part files' JSON lines (`{"value":N}`).
    private func committed() throws -> [Int64] {
        let out = dir + "/out"
        return try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.hasPrefix("part-") }.flatMap { file in
            try String(contentsOfFile: out + "/" + file, encoding: .utf8).split(separator: "\n").map { line in
                guard let colon = line.firstIndex(of: ":"), let value = Int64(line[line.index(after: colon)...].dropLast()) else {
                    throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "unexpected line in \(file): \(line)"])
                }
                return value
            }
        }
    }

    func testAFiniteSourceRunsToItsFinalCheckpointAndARestartResumesFromIt() throws {
        XCTAssertEqual(try run(count: 3_000), .finished)
        XCTAssertEqual(try committed().sorted(), Array(1...3_000))
        let store = try CheckpointStore(directory: dir + "/checkpoints")
        XCTAssertGreaterThan(store.highestCheckpointID(), 0)

        // The same pipeline with a longer stream resumes after the last committed value.
        XCTAssertEqual(try run(count: 5_000), .finished)
        XCTAssertEqual(try committed().sorted(), Array(1...5_000), "each value once, across the two runs")
    }

    func testAPluginThatFailsToOpenFailsTheWorkerNamingTheOperator() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // The sink's output folder is a file: the sink cannot create it.
        try "x".write(toFile: dir + "/out", atomically: true, encoding: .utf8)
        guard case .failed(let reason) = try run(count: 10) else { return XCTFail("the worker should fail") }
        XCTAssertTrue(reason.contains("operator 'sink' failed"), reason)
    }
}
