import Foundation
import XCTest

/// Dead letters to a Pulsar topic: the sensor parser's rejects go through the pulsar-sink,
/// each with its reason and source as properties, once, and the official client reads them.
final class PulsarDeadLetterTests: XCTestCase {
    func testRejectedReadingsArePublishedOnceWithTheirReason() throws {
        let broker = try PulsarBroker()
        let dir = makeTemporaryDirectory("pulsar-dlq")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var lines: [String] = []
        for i in 1...300 {
            lines.append(i % 30 == 0 ? "not json \(i)" : #"{"sensor_id":"s\#(i)","temperature":\#(i),"seq":\#(i)}"#)
        }
        try lines.joined(separator: "\n").write(toFile: dir + "/in.jsonl", atomically: true, encoding: .utf8)
        try """
        name: dlq
        source: { plugin: line-source, config: { path: \(dir)/in.jsonl, batch_size: 50 } }
        transforms:
          - sensor-parser:
              columns:
                - { name: sensor_id, type: string }
                - { name: temperature, type: float64 }
                - { name: seq, type: uint64 }
        sink: { plugin: file-sink, config: { directory: \(dir)/out } }
        dead_letter: { plugin: pulsar-sink, config: { service_url: "\(broker.url)", topic: rejected } }
        checkpointing: { interval: 200ms, directory: \(dir)/ck }
        """.write(toFile: dir + "/p.yaml", atomically: true, encoding: .utf8)
        let result = try runProcess(Built.sluice, ["run", dir + "/p.yaml"], timeout: 120)
        XCTAssertEqual(result.status, 0, result.stderr)

        try broker.python("consume.py", [broker.url, "persistent://public/default/rejected", "check", "100", dir + "/dlq.jsonl", "--idle", "5"])
        let messages = try String(contentsOfFile: dir + "/dlq.jsonl", encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        XCTAssertEqual(messages.count, 10, "one message per rejected reading, none twice")
        XCTAssertEqual(Set(messages.compactMap { $0["payload"] as? String }), Set((1...10).map { "not json \($0 * 30)" }))
        for message in messages {
            let properties = message["properties"] as? [String: String] ?? [:]
            XCTAssertTrue(properties["error_reason"]?.hasPrefix("invalid_json") == true, "\(properties)")
            XCTAssertEqual(properties["error_operator"], "transform-1")
            XCTAssertNotNil(properties["sluice-message-id"])
        }
        XCTAssertEqual(Set(messages.compactMap { ($0["properties"] as? [String: String])?["sluice-message-id"] }).count, 10)
    }
}
