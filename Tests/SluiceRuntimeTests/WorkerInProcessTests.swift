import Foundation
import XCTest
import SluiceCore
@testable import SluiceRuntime

/// The worker run in this process, with the package's C sequence source and file sink: the
/// runtime's own behaviour, without the supervisor or a second process.
final class WorkerInProcessTests: XCTestCase {
    private var dir = ""

    override func setUp() {
        dir = NSTemporaryDirectory() + "sluice-inprocess-\(UUID().uuidString.prefix(8))"
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    private func worker(count: Int, rate: Int = 0, parallelism: Int = 1, transforms: Int = 0, chained: Bool = true) throws -> Worker {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/pipeline.yaml"
        try """
        name: in-process
        parallelism: \(parallelism)
        chain_transforms: \(chained)
        source: { plugin: sequence-source, config: { count: \(count), batch_size: 100, rate: \(rate) } }
        transforms: [\(Array(repeating: "{ plugin: pass-through }", count: transforms).joined(separator: ", "))]
        sink: { plugin: file-sink, config: { directory: \(dir)/out } }
        checkpointing: { interval: 20ms, directory: \(dir)/checkpoints, mode: exactly-once }
        """.write(toFile: path, atomically: true, encoding: .utf8)
        let plan = try PipelinePlan.load(path: path, searchPath: PluginSearchPath(flag: [BuiltProducts.directory]))
        return try Worker(plan: plan, options: .init())
    }

    private func run(count: Int, parallelism: Int = 1) throws -> Worker.Outcome {
        try worker(count: count, parallelism: parallelism).run()
    }

    /// The names of this process's threads that run operators (`op-NAME`).
    private func operatorThreads() throws -> Set<String> {
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")
        return Set(tasks.compactMap { try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8) }
            .map { $0.trimmingCharacters(in: .newlines) }.filter { $0.hasPrefix("op-") })
    }

    /// Runs a two-transform pipeline on a thread of its own and returns the operator threads
    /// seen while it ran (every operator open, the stream still flowing), with the outcome.
    private func threadsWhileRunning(chained: Bool) throws -> (threads: Set<String>, outcome: Worker.Outcome?) {
        // 2,000 rows/s for 3,000 rows: the stream flows for 1.5 s, long past every operator's start.
        let worker = try worker(count: 3_000, rate: 2_000, transforms: 2, chained: chained)
        let done = DispatchSemaphore(value: 0)
        // Under a lock: ThreadSanitizer does not see the semaphore as synchronization.
        let lock = NSLock()
        nonisolated(unsafe) var outcome: Worker.Outcome?
        Thread.detachNewThread {
            let result = worker.run()
            lock.withLock { outcome = result }
            done.signal()
        }
        let deadline = Date().addingTimeInterval(30)
        while worker.status.current.state != "running" && Date() < deadline { usleep(1_000) }
        let threads = try operatorThreads()
        XCTAssertEqual(done.wait(timeout: .now() + 60), .success, "the worker did not finish")
        return (threads, lock.withLock { outcome })
    }

    /// Chained (the default), the transforms run on the source's thread: no thread and no
    /// queue of their own, and every row still reaches the sink once.
    func testChainedTransformsRunOnTheSourceThread() throws {
        let (threads, outcome) = try threadsWhileRunning(chained: true)
        XCTAssertEqual(threads, ["op-source", "op-sink"])
        XCTAssertEqual(outcome, .finished)
        XCTAssertEqual(try committed().sorted(), Array(1...3_000))
    }

    func testUnchainedTransformsRunOnThreadsOfTheirOwn() throws {
        let (threads, outcome) = try threadsWhileRunning(chained: false)
        XCTAssertEqual(threads, ["op-source", "op-transform-1", "op-transform-2", "op-sink"])
        XCTAssertEqual(outcome, .finished)
        XCTAssertEqual(try committed().sorted(), Array(1...3_000))
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
        XCTAssertGreaterThan(try store.highestCheckpointID(), 0)

        // The same pipeline with a longer stream resumes after the last committed value.
        XCTAssertEqual(try run(count: 5_000), .finished)
        XCTAssertEqual(try committed().sorted(), Array(1...5_000), "each value once, across the two runs")
    }

    /// Three lanes, each a chain on its own threads under one coordinator: the sequence source
    /// gives each lane every third batch, each lane's file sink commits its own part files, and
    /// a restart resumes every lane from the one manifest.
    func testLanesShareTheInputAndCheckpointTogether() throws {
        XCTAssertEqual(try run(count: 3_000, parallelism: 3), .finished)
        XCTAssertEqual(try committed().sorted(), Array(1...3_000))
        let parts = try FileManager.default.contentsOfDirectory(atPath: dir + "/out")
        for lane in 0..<3 { XCTAssertTrue(parts.contains { $0.hasSuffix("-lane\(lane).jsonl") }, "\(parts)") }
        let store = try CheckpointStore(directory: dir + "/checkpoints")
        let newest = try XCTUnwrap(try store.newestValidCheckpoint()?.manifest)
        XCTAssertEqual(newest.layout, PipelineLayout(instance: 0, instances: 1, parallelism: 3))
        XCTAssertEqual(newest.operators.map(\.operatorName), ["source@0", "sink@0", "source@1", "sink@1", "source@2", "sink@2"])

        XCTAssertEqual(try run(count: 5_000, parallelism: 3), .finished)
        XCTAssertEqual(try committed().sorted(), Array(1...5_000), "each value once, across the two runs")
        // Another parallelism cannot resume from these checkpoints.
        guard case .misconfigured(let reason) = try run(count: 5_000, parallelism: 2) else { return XCTFail("another layout must be refused") }
        XCTAssertTrue(reason.contains("A layout changes only through a savepoint of every instance"), reason)
    }

    func testAPluginThatFailsToOpenFailsTheWorkerNamingTheOperator() throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // The sink's output folder is a file: the sink cannot create it.
        try "x".write(toFile: dir + "/out", atomically: true, encoding: .utf8)
        guard case .failed(let reason) = try run(count: 10) else { return XCTFail("the worker should fail") }
        XCTAssertTrue(reason.contains("operator 'sink' failed"), reason)
    }
}
