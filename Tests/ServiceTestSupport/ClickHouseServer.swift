import Foundation

/// A real ClickHouse server (Debian's clickhouse-server) for one test class, started and stopped
/// through scripts/services/clickhouse.sh on free loopback ports, its data in a temporary
/// folder. The one harness every test target that needs ClickHouse uses.
public final class ClickHouseServer {
    public let directory: String
    public let httpPort: Int
    public let tcpPort: Int
    public var url: String { "http://127.0.0.1:\(httpPort)" }
    /// ClickHouse's own HTTPS, when started with `https`.
    public let https: HTTPS?
    public var httpsURL: String? { https.map { "https://localhost:\($0.port)" } }

    /// HTTPS served by ClickHouse itself: its certificate and key, and the CA whose client
    /// certificates it requires (nil: none required).
    public struct HTTPS {
        public let port: Int
        public let certificate: String
        public let key: String
        public let clientCA: String?
        public init(certificate: String, key: String, clientCA: String? = nil) {
            port = freePort()
            self.certificate = certificate
            self.key = key
            self.clientCA = clientCA
        }
    }

    public static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static var script: String { packageRoot + "/scripts/services/clickhouse.sh" }

    public init(https: HTTPS? = nil) throws {
        self.https = https
        let installed = FileManager.default.isExecutableFile(atPath: "/usr/sbin/clickhouse-server")
            || (try? runCommand("/bin/sh", ["-c", "command -v clickhouse-server || command -v clickhouse"]).status) == 0
        guard installed else {
            throw TestFailure("ClickHouse is not installed: run scripts/test (it installs Debian's clickhouse-server through scripts/services/clickhouse.sh install)")
        }
        directory = NSTemporaryDirectory() + "sluice-clickhouse-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        httpPort = freePort()
        tcpPort = freePort()
        try start()
        ClickHouseServer.stopAtExit(directory)
    }

    public func start() throws {
        var arguments = [Self.script, "start", directory, String(httpPort), String(tcpPort)]
        if let https { arguments += [String(https.port), https.certificate, https.key] + (https.clientCA.map { [$0] } ?? []) }
        let result = try runCommand("/bin/bash", arguments, timeout: 90)
        guard result.status == 0 else { throw TestFailure("ClickHouse did not start:\n\(result.output)") }
    }

    public func stop() {
        _ = try? runCommand("/bin/bash", [Self.script, "stop", directory], timeout: 60)
    }

    public func destroy() {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs SQL over HTTP (curl) and returns the answer; throws with ClickHouse's message on an
    /// error answer.
    @discardableResult
    public func query(_ sql: String, user: String? = nil, password: String? = nil) throws -> String {
        var arguments = ["-sS", "--fail-with-body", "--data-binary", "@-", url + "/"]
        if let user { arguments += ["-u", "\(user):\(password ?? "")"] }
        let result = try runCommand("/usr/bin/curl", arguments, input: Data(sql.utf8), timeout: 60)
        guard result.status == 0 else { throw TestFailure("query failed: \(sql)\n\(result.output)") }
        return result.stdout
    }

    public func scalar(_ sql: String) throws -> String {
        try query(sql).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: - Stopping servers a test run leaves behind

    /// Servers still running when the test process exits are killed then, whatever happened to
    /// the class's tearDown. Touched from test threads one at a time (XCTest runs tests serially).
    nonisolated(unsafe) private static var running: [String] = []
    nonisolated(unsafe) private static var exitHookInstalled = false

    private static func stopAtExit(_ directory: String) {
        running.append(directory)
        guard !exitHookInstalled else { return }
        exitHookInstalled = true
        atexit {
            for directory in ClickHouseServer.running {
                if let pid = (try? String(contentsOfFile: directory + "/pid", encoding: .utf8)).flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) {
                    kill(pid, SIGKILL)
                }
            }
        }
    }
}
