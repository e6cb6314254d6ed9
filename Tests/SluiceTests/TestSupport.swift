import DurableFiles
import Foundation
@_exported import ServiceTestSupport
import XCTest

/// Paths to what the package built, and helpers to build C plugins and run the real binary.
enum Built {
    /// The folder holding `sluice` and the Swift plugin `.so` files.
    static let productsDirectory: String = {
        // The test runner is .build/<triple>/debug/sluicePackageTests.xctest, beside the products.
        let runner = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (runner as NSString).deletingLastPathComponent
    }()

    static var sluice: String { productsDirectory + "/sluice" }

    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var abiInclude: String { packageRoot + "/Sources/PluginABI/include" }

    /// Compiles a C plugin with `cc -shared`; returns the .so path.
    static func cPlugin(source: String, output: String, defines: [String] = []) throws -> String {
        let result = try runProcess("/usr/bin/env", ["cc", "-shared", "-fPIC", "-O2", "-Wall", "-I", abiInclude] + defines.map { "-D" + $0 } + ["-o", output, source])
        guard result.status == 0 else { throw TestFailure("cc failed for \(source): \(result.stderr)") }
        return output
    }

    /// The C sequence source from Examples/, built by the package.
    static var sequenceSource: String { productsDirectory + "/libsequence-source.so" }
}

struct RunResult {
    let status: Int32
    let stdout: String
    let stderr: String
    var output: String { stdout + stderr }
}

/// Runs a command to completion (with a timeout) and captures its output through files, so a
/// chatty process never blocks on a full pipe.
@discardableResult
func runProcess(_ executable: String, _ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 120,
                expectingRestarts: Bool = false) throws -> RunResult {
    let process = try StartedProcess(executable, arguments, environment: environment, expectingRestarts: expectingRestarts)
    return try process.wait(timeout: timeout)
}

/// A process started in the background, output captured to files.
///
/// A `sluice run` whose worker restarts is a failure unless the test says it causes restarts
/// (`expectingRestarts`): the supervisor must never hide a bug by restarting a worker.
final class StartedProcess {
    let process = Process()
    private let outPath: String
    private let errPath: String
    private let checksRestarts: Bool

    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], expectingRestarts: Bool = false) throws {
        checksRestarts = !expectingRestarts && arguments.first == "run"
        let base = NSTemporaryDirectory() + "sluice-proc-\(UUID().uuidString)"
        outPath = base + ".out"
        errPath = base + ".err"
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "SLUICE_PLUGIN_PATH")
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var stderrText: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }
    var stdoutText: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }

    func wait(timeout: TimeInterval) throws -> RunResult {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(-pid, SIGKILL)
            process.terminate()
            kill(pid, SIGKILL)
            for child in allChildren() { kill(child, SIGKILL) }
            throw TestFailure("\(process.executableURL!.path) \(process.arguments!.joined(separator: " ")) did not finish within \(timeout) s\nstderr:\n\(stderrText.suffix(4000))")
        }
        let result = RunResult(status: process.terminationStatus, stdout: stdoutText, stderr: stderrText)
        if checksRestarts { assertNoWorkerRestart(result.stderr) }
        return result
    }

    /// Waits until the captured stderr contains `text`.
    func waitForLog(_ text: String, timeout: TimeInterval = 30) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if stderrText.contains(text) { return }
            if !process.isRunning { break }
            usleep(20_000)
        }
        throw TestFailure("log never showed '\(text)'\nstderr:\n\(stderrText.suffix(4000))")
    }

    /// The supervisor's workers: its direct children running `sluice worker` (it also starts
    /// `sluice validate` children to check the pipeline file, which are not workers).
    func children() -> [Int32] {
        allChildren().filter { child in
            let arguments = (DurableFile.text("/proc/\(child)/cmdline") ?? "").split(separator: "\0")
            return arguments.count > 1 && arguments[1] == "worker"
        }
    }

    /// Every direct child, from every thread's list.
    func allChildren() -> [Int32] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return tasks.flatMap { task -> [Int32] in
            let text = DurableFile.text("/proc/\(pid)/task/\(task)/children") ?? ""
            return text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
    }
}

/// The tables of pipelines/sensors.sql, created in `clickhouse`.
func createSensorTables(in clickhouse: ClickHouseServer) throws {
    for statement in try String(contentsOfFile: Built.packageRoot + "/pipelines/sensors.sql", encoding: .utf8).components(separatedBy: ";") {
        let sql = statement.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("--") }.joined(separator: "\n")
        if !sql.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { try clickhouse.query(sql) }
    }
}

/// Waits until the sensor tables hold `n` readings between them (rows and dead letters), then
/// a little longer (anything arriving after that would be a duplicate).
func waitForSensorReadings(_ n: Int, in clickhouse: ClickHouseServer, timeout: TimeInterval) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        let rows = Int(try clickhouse.scalar("SELECT count() FROM sensor_readings")) ?? 0
        let dead = Int(try clickhouse.scalar("SELECT count() FROM sensor_readings_errors")) ?? 0
        if rows + dead >= n { break }
        sleep(1)
    }
    sleep(2)
}

/// A fresh temporary folder per test.
func makeTemporaryDirectory(_ label: String) -> String {
    let path = NSTemporaryDirectory() + "sluice-\(label)-\(UUID().uuidString.prefix(8))"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Every integer in the `value` field of the committed part files of a file sink.
func committedValues(in directory: String) throws -> [Int64] {
    var values: [Int64] = []
    let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("part-") && $0.hasSuffix(".jsonl") }
    for file in files {
        let text = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":"), let value = Int64(line[line.index(after: colon)...].dropLast()) else {
                throw TestFailure("unexpected line in \(file): \(line)")
            }
            values.append(value)
        }
    }
    return values
}

/// Checks that `values` holds every integer 1...n exactly once.
func assertExactlyOnce(_ values: [Int64], _ n: Int, file: StaticString = #filePath, line: UInt = #line) {
    var seen = [UInt8](repeating: 0, count: n + 1)
    var duplicates = 0, outOfRange = 0
    for v in values {
        guard v >= 1 && v <= n else { outOfRange += 1; continue }
        if seen[Int(v)] > 0 { duplicates += 1 }
        seen[Int(v)] += 1
    }
    let missing = seen.dropFirst().filter { $0 == 0 }.count
    XCTAssertEqual(duplicates, 0, "duplicated values", file: file, line: line)
    XCTAssertEqual(missing, 0, "missing values", file: file, line: line)
    XCTAssertEqual(outOfRange, 0, "values outside 1...\(n)", file: file, line: line)
    XCTAssertEqual(values.count, n, file: file, line: line)
}

/// A worker restart the test did not cause is a bug that the supervisor would otherwise hide.
func assertNoWorkerRestart(_ log: String, file: StaticString = #filePath, line: UInt = #line) {
    let restarts = log.split(separator: "\n").filter { $0.contains("worker exited") }
    XCTAssertTrue(restarts.isEmpty, "unexpected worker restart:\n" + restarts.joined(separator: "\n"), file: file, line: line)
}

/// A process started the way the supervisor starts a worker (posix_spawn with SIGTERM, SIGINT
/// and SIGUSR1 blocked until the worker installs its handlers), stderr captured to a file.
final class SpawnedLikeAWorker {
    enum Termination: Equatable { case exited(Int32), signaled(Int32) }
    let pid: pid_t
    private let errPath: String

    init(_ executable: String, _ arguments: [String]) throws {
        errPath = NSTemporaryDirectory() + "sluice-spawn-\(UUID().uuidString).err"
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var blocked = sigset_t()
        sigemptyset(&blocked)
        for signal in [SIGTERM, SIGINT, SIGUSR1] { sigaddset(&blocked, signal) }
        posix_spawnattr_setsigmask(&attributes, &blocked)
        posix_spawnattr_setsigdefault(&attributes, &blocked)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "SLUICE_PLUGIN_PATH")
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { argv.forEach { free($0) }; envp.forEach { free($0) } }
        var pid = pid_t()
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard status == 0 else { throw TestFailure("posix_spawn \(executable) failed: \(status)") }
        self.pid = pid
    }

    /// Waits (polling, so a hung process fails the test instead of hanging it) and reaps.
    func wait(timeout: TimeInterval) throws -> (Termination, String) {
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw TestFailure("process \(pid) did not end within \(timeout) s:\n\(stderr.suffix(4000))")
            }
            usleep(10_000)
        }
        let signal = status & 0x7f
        return (signal != 0 ? .signaled(signal) : .exited((status >> 8) & 0xff), stderr)
    }

    var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }
}
