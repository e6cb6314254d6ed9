import Foundation
import XCTest
@testable import ClickHouseSink
import PluginKit

/// A real ClickHouse server for one test class, started through scripts/services/clickhouse.sh
/// on free loopback ports in a temporary folder.
final class ClickHouseTestServer {
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static var script: String { packageRoot + "/scripts/services/clickhouse.sh" }

    let directory: String
    let httpPort: Int
    let tcpPort: Int
    var url: String { "http://127.0.0.1:\(httpPort)" }

    init() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/clickhouse-server") || Self.which("clickhouse-server") || Self.which("clickhouse") else {
            throw TestError("ClickHouse is not installed: run scripts/test (it installs Debian's clickhouse-server through scripts/services/clickhouse.sh install)")
        }
        directory = NSTemporaryDirectory() + "sluice-ch-\(UUID().uuidString.prefix(8))"
        httpPort = freePort()
        tcpPort = freePort()
        try start()
        ClickHouseTestServer.registerForExit(directory)
    }

    /// Servers still running when the test process exits are stopped then, whatever happened
    /// to the class tearDown.
    nonisolated(unsafe) static var running: [String] = []
    nonisolated(unsafe) static var exitHookInstalled = false
    static func registerForExit(_ directory: String) {
        running.append(directory)
        guard !exitHookInstalled else { return }
        exitHookInstalled = true
        atexit {
            for dir in ClickHouseTestServer.running {
                if let pid = (try? String(contentsOfFile: dir + "/pid", encoding: .utf8)).flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
                    kill(pid, SIGKILL)
                }
            }
        }
    }

    func start() throws {
        let result = try runCommand("/bin/bash", [Self.script, "start", directory, String(httpPort), String(tcpPort)])
        guard result.status == 0 else { throw TestError("ClickHouse did not start: \(result.output)") }
    }

    func stop() {
        _ = try? runCommand("/bin/bash", [Self.script, "stop", directory])
    }

    func destroy() {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    static func which(_ name: String) -> Bool {
        (try? runCommand("/bin/sh", ["-c", "command -v \(name)"]).status) == 0
    }

    /// Runs SQL over HTTP and returns the answer; throws on an error answer.
    @discardableResult
    func query(_ sql: String, user: String? = nil, password: String? = nil) throws -> String {
        var args = ["-sS", "--fail-with-body", "--data-binary", "@-", url + "/"]
        if let user { args += ["-u", "\(user):\(password ?? "")"] }
        let result = try runCommand("/usr/bin/curl", args, input: Data(sql.utf8))
        guard result.status == 0 else { throw TestError("query failed: \(sql)\n\(result.output)") }
        return result.stdout
    }

    func scalar(_ sql: String) throws -> String {
        try query(sql).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

struct TestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

struct ProcessResult {
    let status: Int32
    let stdout: String
    let stderr: String
    var output: String { stdout + stderr }
}

func runCommand(_ executable: String, _ arguments: [String], input: Data? = nil) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let base = NSTemporaryDirectory() + "sluice-chproc-\(UUID().uuidString)"
    FileManager.default.createFile(atPath: base + ".out", contents: nil)
    FileManager.default.createFile(atPath: base + ".err", contents: nil)
    defer { try? FileManager.default.removeItem(atPath: base + ".out"); try? FileManager.default.removeItem(atPath: base + ".err") }
    process.standardOutput = FileHandle(forWritingAtPath: base + ".out")
    process.standardError = FileHandle(forWritingAtPath: base + ".err")
    if let input {
        let pipe = Pipe()
        process.standardInput = pipe
        try process.run()
        pipe.fileHandleForWriting.write(input)
        try pipe.fileHandleForWriting.close()
    } else {
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus,
                         stdout: (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? "",
                         stderr: (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? "")
}

/// A loopback port nobody listens on right now.
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

// MARK: - Driving the sink without the host

/// Log lines the sink wrote through the host API, across instances.
final class CapturedLog: @unchecked Sendable {
    static let shared = CapturedLog()
    private let lock = NSLock()
    private var lines: [String] = []
    func append(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
    var text: String { lock.lock(); defer { lock.unlock() }; return lines.joined(separator: "\n") }
    func clear() { lock.lock(); lines = []; lock.unlock() }
}

/// A `sluice_host_api` for one sink instance driven directly by a test.
final class TestHost {
    let api: UnsafeMutablePointer<sluice_host_api>
    private var strings: [UnsafeMutablePointer<CChar>] = []
    let stateDirectory: String

    init(stateDirectory: String, exactlyOnce: Bool = true, pipeline: String = "test", operatorName: String = "sink") {
        self.stateDirectory = stateDirectory
        try? FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        let state = strdup(stateDirectory)!, p = strdup(pipeline)!, o = strdup(operatorName)!
        strings = [state, p, o]
        api = .allocate(capacity: 1)
        api.initialize(to: sluice_host_api(
            struct_size: UInt32(MemoryLayout<sluice_host_api>.size), abi_version: 1 << 16, host_data: nil,
            log: { _, level, message in
                guard let message else { return }
                CapturedLog.shared.append("[\(level.rawValue)] " + String(cString: message))
            },
            reject: nil, state_dir: UnsafePointer(state),
            delivery_mode: exactlyOnce ? SLUICE_EXACTLY_ONCE : SLUICE_AT_LEAST_ONCE,
            pipeline_name: UnsafePointer(p), operator_name: UnsafePointer(o), open_purpose: SLUICE_OPEN_RUN))
    }

    var host: PluginHost { PluginHost(api: api) }

    deinit {
        api.deallocate()
        strings.forEach { free($0) }
    }
}

/// Decodes and validates a sink configuration from JSON, as the host hands it over.
func sinkConfig(_ json: String) throws -> ClickHouseSink.Config {
    let config = try decodedSinkConfig(json)
    try ClickHouseSink.validate(config)
    return config
}

/// Decodes a sink configuration without validating it.
func decodedSinkConfig(_ json: String) throws -> ClickHouseSink.Config {
    try JSONDecoder().decode(ClickHouseSink.Config.self, from: Data(json.utf8))
}
