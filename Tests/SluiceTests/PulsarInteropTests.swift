import Foundation
import XCTest

/// sluice's Pulsar client against the official one (pulsar-client from PyPI), both ways, on
/// a real pulsar-lite broker.
final class PulsarInteropTests: XCTestCase {
    private var dir = ""
    override func setUp() { dir = makeTemporaryDirectory("pulsar-interop") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    func testOfficialProducerWithEveryCompressionIsReadIdentically() throws {
        let broker = try PulsarBroker()
        let n = 2000
        let codecs = ["none", "lz4", "zlib", "zstd", "snappy"]
        for codec in codecs {
            try broker.python("produce.py", [broker.url, "interop-\(codec)", String(n), "--compression", codec, "--batch", "100", "--tag", codec])
        }
        let pipeline = writePulsarPipeline(dir: dir, url: broker.url, topics: codecs.map { "interop-\($0)" }, stopAfter: n * codecs.count)
        let result = try runProcess(Built.sluice, ["run", pipeline], timeout: 120)
        XCTAssertEqual(result.status, 0, result.stderr)

        let rows = try committedMessages(in: dir + "/out")
        XCTAssertEqual(rows.count, n * codecs.count)
        for codec in codecs {
            let topic = "persistent://public/default/interop-\(codec)"
            let mine = rows.filter { $0.topic == topic }
            XCTAssertEqual(mine.map { $0.number ?? -1 }, Array(1...n), "\(codec): every message, in order")
            var batched = 0
            for (index, row) in mine.enumerated() {
                let i = index + 1
                guard row.payload == fixturePayload(i, tag: codec) else { XCTFail("\(codec) payload \(i): \(row.payload)"); break }
                XCTAssertEqual(row.key, "k\(i % 13)")
                XCTAssertEqual(row.properties, ["i": String(i), "tag": codec])
                XCTAssertEqual(row.eventTime, 1_764_100_000_000 + Int64(i))
                XCTAssertGreaterThan(row.publishTime, 1_700_000_000_000)
                XCTAssertEqual(row.partition, -1)
                if !row.messageID.hasSuffix(":-1:-1") { batched += 1 }
            }
            XCTAssertGreaterThan(batched, n / 2, "\(codec): the official producer batched")
        }
    }

    func testSluiceProducerIsReadByTheOfficialClient() throws {
        let broker = try PulsarBroker()
        let n = 1500
        for codec in ["none", "lz4", "zlib", "zstd", "snappy"] {
            let topic = "from-sluice-\(codec)"
            let produced = try runProcess(Built.sluice, ["produce", "--url", broker.url, "--topic", topic, "--count", String(n),
                                                         "--template", "sensors", "--batch-size", "100", "--compression", codec], timeout: 60)
            XCTAssertEqual(produced.status, 0, produced.output)
            XCTAssertTrue(produced.stdout.contains("produced \(n) messages"), produced.stdout)
            let out = dir + "/\(codec).jsonl"
            try broker.python("consume.py", [broker.url, topic, "check", String(n), out, "--idle", "5"])
            let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
            XCTAssertEqual(lines.count, n, codec)
            for (index, line) in lines.enumerated() {
                let m = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                let payload = try JSONSerialization.jsonObject(with: Data((m["payload"] as! String).utf8)) as! [String: Any]
                XCTAssertEqual(payload["seq"] as? Int, index + 1, "\(codec): in order")
                XCTAssertEqual(m["key"] as? String, payload["sensor_id"] as? String)
                XCTAssertEqual(m["properties"] as? [String: String], ["seq": String(index + 1)])
                XCTAssertEqual((m["event_time"] as? NSNumber)?.int64Value, (payload["ts"] as? NSNumber)?.int64Value)
                if index > 3 && codec != "none" { break }
            }
        }
        // Lines of a file, unbatched.
        let file = dir + "/lines.txt"
        let lines = (1...300).map { "line \($0) \u{00e9}\u{4e2d} \"quoted\"" }
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let produced = try runProcess(Built.sluice, ["produce", "--url", broker.url, "--topic", "lines", "--file", file, "--batch-size", "1"], timeout: 60)
        XCTAssertEqual(produced.status, 0, produced.output)
        let out = dir + "/lines.jsonl"
        try broker.python("consume.py", [broker.url, "lines", "check", "300", out, "--idle", "5"])
        let read = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
        XCTAssertEqual(read.map { $0["payload"] as? String ?? "" }, lines)
        XCTAssertTrue(read.allSatisfy { ($0["message_id"] as? [Int])?.last == -1 }, "not batched")
    }
}
