import ArgumentParser
import Foundation
import Glibc
import PluginCheck

/// `sluice plugins check`: the plugin runs through the ABI contract in a child process, so a
/// crash or a hang is reported against the check it happened in instead of taking the checker
/// down. The child (the same binary with `--in-process`) announces each check and its result
/// on stdout in `CheckProtocol` lines; this process prints the report.
struct PluginsCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check that a plugin keeps the ABI contract; exits non-zero on any violation.",
        discussion: "Checks, in order: " + CheckResult.catalogue.map { "\($0.id) (\($0.summary))" }.joined(separator: "; ") + ".")

    @Argument(help: "A path to a plugin .so, or a plugin name from the search path.") var plugin: String
    @Option(help: ArgumentHelp("A file with the plugin's configuration: a YAML or JSON mapping, as under `config:` in a pipeline file (default: {}).", valueName: "FILE"))
    var config: String?
    @Option(name: .customLong("failing-config"), help: ArgumentHelp("A file with a configuration whose open fails (say, an unreachable address), to check destroy after a failed open.", valueName: "FILE"))
    var failingConfig: String?
    @Option(help: ArgumentHelp("The columns fed to a sink or transform: name:type, name:type? for nullable, comma-separated.",
                               discussion: "Types: \(InputColumn.typeNamesForHelp).", valueName: "COLUMNS"))
    var input: String?
    @Option(help: "How many batches to take from a source.") var batches: Int = 40
    @Flag(help: "The source's data is not repeatable: do not compare its output after a restore.") var nondeterministic = false
    @Option(help: "Give up after this many seconds (a hung plugin).") var timeout: Int = 300
    @Flag(name: .customLong("in-process"), help: .hidden) var inProcess = false
    @OptionGroup var plugins: PluginPathOptions

    func run() throws {
        let columns: [InputColumn]
        do { columns = try input.map(InputColumn.parseList) ?? InputColumn.defaults } catch {
            printError("--input: \(error)")
            throw ExitCode(ExitStatus.configuration)
        }
        if inProcess { try runChecks(path: plugin, columns: columns) }
        let (resolved, tried) = plugins.searchPath.resolve(plugin)
        guard let path = resolved else {
            printError("plugin '\(plugin)' not found; tried \(tried.joined(separator: ", "))")
            throw ExitCode.failure
        }
        let passed = try superviseChild(path: path)
        if !passed { throw ExitCode.failure }
    }

    /// The child: runs the checks here and writes the protocol to stdout.
    private func runChecks(path: String, columns: [InputColumn]) throws -> Never {
        // One malloc arena, so glibc's counters (the leak check) see every thread's allocations.
        ConformanceRunner.useSingleMallocArena()
        setvbuf(stdout, nil, _IOLBF, 0)
        let options = CheckOptions(pluginPath: path, configFile: config, failingConfigFile: failingConfig, inputColumns: columns,
                                   sourceBatches: batches, deterministic: !nondeterministic,
                                   workDirectory: FileManager.default.currentDirectoryPath)
        let runner = ConformanceRunner(options: options,
                                       announce: { print(CheckProtocol.beginLine($0)); fflush(stdout) },
                                       report: { print(CheckProtocol.resultLine($0)); fflush(stdout) })
        Glibc.exit(runner.run() ? 0 : 1)
    }

    /// Starts the child in a scratch directory, prints its report as it comes, and turns a
    /// crash or a hang into a failed check. Returns whether every check passed.
    private func superviseChild(path: String) throws -> Bool {
        let work = NSTemporaryDirectory() + "sluice-check-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let absolute = { (file: String) in file.hasPrefix("/") ? file : FileManager.default.currentDirectoryPath + "/" + file }

        var arguments = ["plugins", "check", absolute(path), "--in-process", "--batches", String(batches)]
        if let config { arguments += ["--config", absolute(config)] }
        if let failingConfig { arguments += ["--failing-config", absolute(failingConfig)] }
        if let input { arguments += ["--input", input] }
        if nondeterministic { arguments.append("--nondeterministic") }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        child.arguments = arguments
        child.currentDirectoryURL = URL(fileURLWithPath: work)
        // A crash is the plugin's, reported as a failed check: Swift's backtrace of the checker
        // would only bury that line.
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        child.environment = environment
        let output = Pipe()
        child.standardOutput = output
        try child.run()

        print("checking \(path)")
        var report = CheckReport()
        let timer = DispatchSource.makeTimerSource()
        timer.schedule(deadline: .now() + .seconds(timeout))
        let timedOut = ManagedFlag()
        timer.setEventHandler { timedOut.set(); kill(child.processIdentifier, SIGKILL) }
        timer.resume()
        var pending = Data()
        let handle = output.fileHandleForReading
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            pending.append(chunk)
            while let newline = pending.firstIndex(of: 0x0A) {
                let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                pending.removeSubrange(pending.startIndex...newline)
                report.take(CheckProtocol.parse(line))
            }
        }
        child.waitUntilExit()
        timer.cancel()
        if timedOut.value {
            report.interrupted("no answer within \(timeout) s (the plugin hangs, or raise --timeout)")
        } else if child.terminationReason == .uncaughtSignal {
            let signal = child.terminationStatus
            let name = String(cString: strsignal(signal))
            report.interrupted("the plugin crashed (signal \(signal), \(name)) during this check; the checks after it did not run")
        } else if report.isInsideCheck {
            report.interrupted("the checking process exited with status \(child.terminationStatus) during this check")
        }
        print(report.summary(path: path))
        return report.passed && child.terminationReason == .exit && child.terminationStatus == 0
    }
}

/// The report as the child's lines arrive.
struct CheckReport {
    private var current: String?
    private(set) var results: [CheckResult] = []

    var passed: Bool { !results.contains { $0.outcome == .failed } }
    /// Whether a check began and never reported (the child died inside it).
    var isInsideCheck: Bool { current != nil }

    mutating func take(_ line: CheckProtocol.Line) {
        switch line {
        case .begin(let id): current = id
        case .result(let result):
            current = nil
            results.append(result)
            print(Self.format(result))
        case .other(let text): print("  | \(text)")
        }
        fflush(stdout)
    }

    /// The check that was running failed with `reason` (a crash, a hang).
    mutating func interrupted(_ reason: String) {
        let result = CheckResult(id: current ?? "unknown", outcome: .failed, details: [reason])
        results.append(result)
        print(Self.format(result))
        current = nil
    }

    static func format(_ result: CheckResult) -> String {
        var lines = ["  \(result.outcome.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0)) \(result.id)"]
        let prefix = result.outcome == .skipped ? "        " : "        - "
        lines += result.details.map { prefix + $0 }
        lines += result.notes.map { "        note: " + $0 }
        return lines.joined(separator: "\n")
    }

    func summary(path: String) -> String {
        let count = { (o: CheckResult.Outcome) in results.filter { $0.outcome == o }.count }
        let verdict = passed ? "PASS" : "FAIL"
        return "\(verdict): \(count(.passed)) passed, \(count(.failed)) failed, \(count(.skipped)) skipped (\(path))"
    }
}

/// A flag set from the timer's queue and read after the child exits.
final class ManagedFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var flag = false
    func set() { lock.lock(); flag = true; lock.unlock() }
    var value: Bool { lock.lock(); defer { lock.unlock() }; return flag }
}
