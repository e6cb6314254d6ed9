import Foundation
import XCTest

/// A pulsar-lite broker for one test, started through scripts/services/pulsar.sh on a free
/// loopback port with its data in a temporary folder.
final class PulsarBroker {
    let directory: String
    let port: Int
    let partitions: Int
    var url: String { "pulsar://127.0.0.1:\(port)" }

    static var script: String { Built.packageRoot + "/scripts/services/pulsar.sh" }
    static var python: String { Built.packageRoot + "/.venv/bin/python" }
    static func fixture(_ name: String) -> String { Built.packageRoot + "/Tests/Fixtures/pulsar/" + name }

    /// Fails (never skips) when scripts/test has not installed the broker and the client.
    static func checkInstalled() throws {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw TestFailure("\(python) is missing: run scripts/test (or scripts/services/pulsar.sh install) to install pulsar-lite and pulsar-client")
        }
    }

    init(partitions: Int = 0) throws {
        try PulsarBroker.checkInstalled()
        directory = makeTemporaryDirectory("pulsar")
        port = freePort()
        self.partitions = partitions
        try start()
    }

    func start() throws {
        let result = try runProcess("/bin/bash", [PulsarBroker.script, "start", directory, String(port), String(partitions)], timeout: 60)
        guard result.status == 0 else { throw TestFailure("pulsar-lite did not start: \(result.output)") }
    }

    func stop() {
        _ = try? runProcess("/bin/bash", [PulsarBroker.script, "stop", directory], timeout: 30)
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs a fixture script with the venv's Python.
    @discardableResult
    func python(_ script: String, _ arguments: [String], timeout: TimeInterval = 120) throws -> RunResult {
        let result = try runProcess(PulsarBroker.python, [PulsarBroker.fixture(script)] + arguments, timeout: timeout)
        guard result.status == 0 else { throw TestFailure("\(script) \(arguments.joined(separator: " ")) failed: \(result.output.suffix(3000))") }
        return result
    }

    func startPython(_ script: String, _ arguments: [String]) throws -> StartedProcess {
        try StartedProcess(PulsarBroker.python, [PulsarBroker.fixture(script)] + arguments)
    }
}


/// Writes a pipeline Pulsar source -> file sink into `dir`; returns its path.
func writePulsarPipeline(dir: String, url: String, topics: [String], subscription: String = "sluice",
                         stopAfter: Int, extra: String = "", interval: String = "200ms") -> String {
    let path = dir + "/pipeline.yaml"
    let list = topics.map { "\"\($0)\"" }.joined(separator: ", ")
    let yaml = """
    name: pulsar-test
    source:
      plugin: pulsar-source
      config:
        service_url: \(url)
        topics: [\(list)]
        subscription: \(subscription)
        stop_after_messages: \(stopAfter)
        connection_timeout: 5s
        operation_timeout: 20s\(extra)
    sink:
      plugin: file-sink
      config: { directory: \(dir)/out }
    checkpointing:
      interval: \(interval)
      directory: \(dir)/checkpoints
      retained: 3
      mode: exactly-once
    restart: { initial_delay: 50ms, max_delay: 200ms, multiplier: 2 }
    """
    try! yaml.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// One row the file sink committed from the Pulsar source.
struct CommittedMessage {
    let payload: String
    let key: String?
    let properties: [String: String]?
    let publishTime: Int64
    let eventTime: Int64?
    let topic: String
    let partition: Int
    let messageID: String
    /// The `i` field of a payload written by produce.py, or `seq` of a sensor reading.
    var number: Int? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any] else { return nil }
        return (object["i"] ?? object["seq"]) as? Int
    }
}

/// Every row of the committed part files, in commit order (part files ascending, lines in order).
func committedMessages(in directory: String) throws -> [CommittedMessage] {
    guard FileManager.default.fileExists(atPath: directory) else { return [] }
    let files = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("part-") && $0.hasSuffix(".jsonl") }.sorted()
    var rows: [CommittedMessage] = []
    for file in files {
        let text = try String(contentsOfFile: directory + "/" + file, encoding: .utf8)
        for line in text.split(separator: "\n") {
            guard let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { throw TestFailure("not JSON in \(file): \(line)") }
            var properties: [String: String]?
            if let text = o["properties"] as? String {
                properties = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String]
            }
            rows.append(CommittedMessage(payload: o["payload"] as? String ?? "", key: o["key"] as? String, properties: properties,
                                         publishTime: (o["publish_time"] as? NSNumber)?.int64Value ?? 0,
                                         eventTime: (o["event_time"] as? NSNumber)?.int64Value,
                                         topic: o["topic"] as? String ?? "", partition: (o["partition"] as? NSNumber)?.intValue ?? -99,
                                         messageID: o["message_id"] as? String ?? ""))
        }
    }
    return rows
}

/// The payload produce.py writes for message `i` with `tag`.
func fixturePayload(_ i: Int, tag: String) -> String {
    #"{"i":\#(i),"tag":"\#(tag)","pad":"\#(String(repeating: "x", count: i % 40))"}"#
}

/// Checks that the `i`s hold every number 1...n exactly once.
func assertEveryNumberOnce(_ numbers: [Int], _ n: Int, file: StaticString = #filePath, line: UInt = #line) {
    assertExactlyOnce(numbers.map(Int64.init), n, file: file, line: line)
}
