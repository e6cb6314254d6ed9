import Foundation
import NIOCore
import PluginKit
import PluginTestSupport
import PulsarClient
@testable import PulsarSource
import ServiceTestSupport
import XCTest

final class LagEstimatorTests: XCTestCase {
    private let p = "persistent://public/default/t-partition-0"

    func testEntriesBecomeMessagesWithTheBatchSizeSeen() {
        var lag = LagEstimator()
        // Nothing emitted yet: the newest ledger's entries, one message each until a batch is seen.
        XCTAssertEqual(lag.lag(partition: p, lastStored: MessageID(ledger: 3, entry: 9)), 10)
        // Batches of 10; emitted up to index 3 of entry 4 of ledger 3.
        lag.emitted(topic: p, id: MessageID(ledger: 3, entry: 4, batchIndex: 3, partition: 0), entrySize: 10)
        // The rest of entry 4 (6), entries 5..8 (4 x 10), entry 9 up to its batch index 4 (5).
        XCTAssertEqual(lag.lag(partition: p, lastStored: MessageID(ledger: 3, entry: 9, batchIndex: 4)), 6 + 40 + 5)
        // Without the batch index the last entry counts as an average one.
        XCTAssertEqual(lag.lag(partition: p, lastStored: MessageID(ledger: 3, entry: 9)), 6 + 40 + 10)
        // The same entry: what is left of it.
        XCTAssertEqual(lag.lag(partition: p, lastStored: MessageID(ledger: 3, entry: 4, batchIndex: 9)), 6)
        // Caught up, an empty partition (-1:-1), and a stale answer from before what was emitted.
        lag.emitted(topic: p, id: MessageID(ledger: 3, entry: 9, batchIndex: 9, partition: 0), entrySize: 10)
        XCTAssertEqual(lag.lag(partition: p, lastStored: MessageID(ledger: 3, entry: 9, batchIndex: 9)), 0)
        XCTAssertEqual(lag.lag(partition: p, lastStored: MessageID(ledger: .max, entry: .max)), 0)
        XCTAssertEqual(lag.lag(partition: p, lastStored: MessageID(ledger: 2, entry: 50)), 0)
        // A newer ledger: its entries (a lower bound; older ledgers' entries are not visible).
        XCTAssertEqual(lag.lag(partition: p, lastStored: MessageID(ledger: 5, entry: 1, batchIndex: 9)), 10 + 10)
    }

    func testARestoredPositionCountsAsEmitted() {
        var lag = LagEstimator()
        lag.restored([p: Position(ledger: 1, entry: 99)])
        XCTAssertEqual(lag.lag(partition: p, lastStored: MessageID(ledger: 1, entry: 109)), 10)
    }
}

/// The Pulsar source against a real broker (pulsar-lite), driven in this process: the lag it
/// reports per partition is the broker's backlog beyond what it emitted, and reaches 0.
final class PulsarSourceLagTests: XCTestCase {
    private var directory = ""
    private var port = 0
    private static var root: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "sluice-lag-\(UUID().uuidString.prefix(8))"
        port = freePort()
        let result = try runCommand("/bin/bash", [Self.root + "/scripts/services/pulsar.sh", "start", directory, String(port), "2"], timeout: 60)
        guard result.status == 0 else {
            throw TestFailure("pulsar-lite did not start (run scripts/test to install it): \(result.output)")
        }
    }

    override func tearDown() {
        _ = try? runCommand("/bin/bash", [Self.root + "/scripts/services/pulsar.sh", "stop", directory], timeout: 30)
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testLagIsTheBacklogPerPartitionAndReachesZero() throws {
        let n = 1000
        let url = "pulsar://127.0.0.1:\(port)"
        // Unbatched messages, round-robin over the 2 partitions: 500 each.
        let client = PulsarClient(configuration: ClientConfiguration(serviceURL: try ServiceURL(url)))
        defer { client.shutdown() }
        var producerConfig = ProducerConfiguration(topic: try TopicName("lag"))
        producerConfig.batchingMaxMessages = 1
        let producer = PulsarProducer(client: client, configuration: producerConfig)
        try producer.start().wait()
        for i in 0..<n { try producer.send(OutgoingMessage(bytes: Array("\(i)".utf8))) }
        try producer.close().wait()

        let host = FakeHost(operatorName: "source")
        let config = try JSONDecoder().decode(PulsarSourceConfig.self, from: Data(
            #"{"service_url":"\#(url)","topic":"lag","subscription":"s","max_batch_rows":10}"#.utf8))
        let source = try PulsarSource(config: config, host: host.pluginHost)
        try source.open()
        defer { try? source.close() }
        var emitted = 0
        func next() throws {
            if case .batch(let batch) = try source.next() { emitted += try batch.view().length }
        }
        // The first call asks the broker; once it answered, the next call reports what was
        // stored beyond the messages emitted before it.
        try next()
        try waitUntil(timeout: 10, "the broker answers GET_LAST_MESSAGE_ID") { source.lagAnswerWaiting }
        let before = emitted
        try next()
        let first = host.lag
        XCTAssertEqual(Set(first.keys), ["persistent://public/default/lag-partition-0", "persistent://public/default/lag-partition-1"])
        XCTAssertEqual(first.values.reduce(0, +), Int64(n - before), "\(first)")
        XCTAssertGreaterThan(first.values.reduce(0, +), 0)
        // Drained, the next report (every 2 s) is 0 for both partitions.
        try waitUntil(timeout: 30, "the lag reaches 0 after \(emitted) of \(n) messages: \(host.lag)") {
            try next()
            return emitted == n && host.lag.count == 2 && host.lag.values.allSatisfy { $0 == 0 }
        }
    }

    private func waitUntil(timeout: TimeInterval, _ what: @autoclosure () -> String, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return }
            usleep(5_000)
        }
        XCTFail("timed out waiting until \(what())")
        throw TestFailure("timed out")
    }
}
