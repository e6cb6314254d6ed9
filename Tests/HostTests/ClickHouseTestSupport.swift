import Foundation
import XCTest

/// A real ClickHouse server for one test class, started and stopped through
/// scripts/services/clickhouse.sh on free loopback ports, data in a temporary folder.
final class ClickHouseServer {
    let directory: String
    let httpPort: Int
    let tcpPort: Int
    var url: String { "http://127.0.0.1:\(httpPort)" }
    static var script: String { Built.packageRoot + "/scripts/services/clickhouse.sh" }

    init() throws {
        let installed = FileManager.default.isExecutableFile(atPath: "/usr/sbin/clickhouse-server")
            || (try? runProcess("/bin/sh", ["-c", "command -v clickhouse-server || command -v clickhouse"]).status) == 0
        guard installed else {
            throw TestFailure("ClickHouse is not installed: run scripts/test (it installs Debian's clickhouse-server through scripts/services/clickhouse.sh install)")
        }
        directory = makeTemporaryDirectory("clickhouse")
        httpPort = freePort()
        tcpPort = freePort()
        try start()
    }

    func start() throws {
        let result = try runProcess("/bin/bash", [Self.script, "start", directory, String(httpPort), String(tcpPort)], timeout: 60)
        guard result.status == 0 else { throw TestFailure("ClickHouse did not start:\n\(result.output)") }
    }

    func stop() {
        _ = try? runProcess("/bin/bash", [Self.script, "stop", directory], timeout: 60)
    }

    func destroy() {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs SQL over HTTP (curl); throws with ClickHouse's message on an error answer.
    @discardableResult
    func query(_ sql: String) throws -> String {
        let file = directory + "/query-\(UUID().uuidString).sql"
        try sql.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let result = try runProcess("/usr/bin/curl", ["-sS", "--fail-with-body", "--data-binary", "@" + file, url + "/"], timeout: 60)
        guard result.status == 0 else { throw TestFailure("query failed: \(sql)\n\(result.output)") }
        return result.stdout
    }

    func scalar(_ sql: String) throws -> String {
        try query(sql).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A pipeline from the C sequence source into a ClickHouse table.
func clickHousePipeline(directory: String, url: String, table: String, count: Int, rate: Int, batchSize: Int = 250,
                        interval: String = "200ms", sinkExtra: String = "") -> String {
    let path = directory + "/pipeline.yaml"
    let yaml = """
    name: ch-\(table)
    source:
      plugin: \(Built.sequenceSource)
      config: { count: \(count), batch_size: \(batchSize), rate: \(rate) }
    sink:
      plugin: \(Built.productsDirectory)/libSluiceClickHouseSink.so
      name: clickhouse
      config: { url: "\(url)", table: \(table)\(sinkExtra) }
    checkpointing:
      interval: \(interval)
      directory: \(directory)/checkpoints
      retained: 3
      mode: exactly-once
    restart: { initial_delay: 50ms, max_delay: 200ms, multiplier: 2 }
    """
    try! yaml.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}
