import Foundation
import PluginKit
import PulsarClient
@testable import PulsarSource
import XCTest

final class AckTrackerTests: XCTestCase {
    private let t = "persistent://public/default/t-partition-0"
    private let u = "persistent://public/default/t-partition-1"

    private func id(_ entry: UInt64, _ batch: Int32 = -1, partition: Int32 = 0) -> MessageID {
        MessageID(ledger: 7, entry: entry, batchIndex: batch, partition: partition)
    }

    func testCumulativeAcksOnlyWhatACompletedCheckpointCovers() {
        var tracker = AckTracker(cumulative: true)
        tracker.record(topic: t, id: id(1), completesEntry: true)
        tracker.record(topic: t, id: id(2, 0), completesEntry: false)
        XCTAssertEqual(tracker.snapshot(checkpointID: 1), [t: Position(ledger: 7, entry: 2, batchIndex: 0)])
        tracker.record(topic: t, id: id(2, 1), completesEntry: true)
        tracker.record(topic: u, id: id(9, partition: 1), completesEntry: true)
        _ = tracker.snapshot(checkpointID: 2)
        tracker.record(topic: t, id: id(3), completesEntry: true)

        // Checkpoint 1 covers entry 1 only: entry 2 was cut inside its batch.
        let first = tracker.complete(checkpointID: 1)
        XCTAssertEqual(first.map { "\($0.topic)@\($0.id)" }, ["\(t)@7:1:-1:0"])
        XCTAssertTrue(tracker.complete(checkpointID: 1).isEmpty, "idempotent")
        let second = tracker.complete(checkpointID: 2)
        XCTAssertEqual(second.map { "\($0.topic)@\($0.id)" }, ["\(t)@7:2:-1:0", "\(u)@7:9:-1:1"])
        // Entry 3 is not covered by any checkpoint yet.
        XCTAssertTrue(tracker.complete(checkpointID: 2).isEmpty)
    }

    func testAnAbortedCheckpointIsAcknowledgedByTheNextCompletedOne() {
        var tracker = AckTracker(cumulative: false)
        tracker.record(topic: t, id: id(1), completesEntry: true)
        _ = tracker.snapshot(checkpointID: 1)  // aborted later
        tracker.record(topic: t, id: id(2, 0), completesEntry: false)
        tracker.record(topic: t, id: id(2, 1), completesEntry: true)
        _ = tracker.snapshot(checkpointID: 2)
        tracker.record(topic: t, id: id(3), completesEntry: true)
        let acks = tracker.complete(checkpointID: 2)
        XCTAssertEqual(acks.map { $0.id.description }, ["7:1:-1:0", "7:2:-1:0"], "individual entries, whole entries only")
        XCTAssertEqual(tracker.pendingCheckpoints, 0)
    }

    func testRestoreStartsFromTheRestoredPositions() {
        var tracker = AckTracker(cumulative: true)
        tracker.restore([t: Position(ledger: 7, entry: 4, batchIndex: 2)])
        XCTAssertEqual(tracker.snapshot(checkpointID: 5), [t: Position(ledger: 7, entry: 4, batchIndex: 2)])
        XCTAssertTrue(tracker.complete(checkpointID: 5).isEmpty)
    }
}

final class PulsarSourceConfigTests: XCTestCase {
    private func config(_ json: String) throws -> PulsarSourceConfig {
        try JSONDecoder().decode(PulsarSourceConfig.self, from: Data(json.utf8))
    }

    func testValidConfigurationsHaveNoProblems() throws {
        let c = try config(#"{"service_url":"pulsar://127.0.0.1:6650","topic":"sensors","subscription":"s","connection_timeout":"5s","operation_timeout":12}"#)
        XCTAssertEqual(c.problems().map(\.message), [])
        XCTAssertEqual(try c.topicNames().map(\.description), ["persistent://public/default/sensors"])
        XCTAssertEqual(c.subscriptionType, .exclusive)
        XCTAssertEqual(c.initialPosition, .earliest)
        XCTAssertEqual(c.receiverQueueSize, 1000)
        XCTAssertEqual(c.maxBatchRows, 4096)
        XCTAssertEqual(c.connectionTimeout?.seconds, 5)
        XCTAssertEqual(c.operationTimeout?.seconds, 12)
        let multi = try config(#"{"service_url":"pulsar://h:1","topics":["a","persistent://x/y/z"],"subscription":"s","subscription_type":"key_shared"}"#)
        XCTAssertEqual(multi.problems().map(\.message), [])
        XCTAssertEqual(multi.subscriptionType, .keyShared)
    }

    func testProblemsNameTheirJSONPointer() throws {
        let c = try config(#"{"service_url":"http://h","topics":["ok","bad//name"],"subscription":"s","subscription_type":"fanout","token_file":"/nonexistent/token","connection_timeout":"0s"}"#)
        let problems = c.problems()
        XCTAssertEqual(Set(problems.compactMap(\.configPath)), ["/service_url", "/topics/1", "/subscription_type", "/token_file", "/connection_timeout"])
        // Text that is no duration at all fails decoding, at its key (ConfigDuration's one grammar).
        XCTAssertThrowsError(try config(#"{"service_url":"pulsar://h:1","topic":"t","subscription":"s","connection_timeout":"soon"}"#)) { error in
            XCTAssertTrue("\(error)".contains("connection_timeout"), "\(error)")
        }
        XCTAssertTrue(problems.contains { $0.message.contains("unknown subscription_type 'fanout'") })
        XCTAssertTrue(problems.contains { $0.message.contains("token_file '/nonexistent/token' does not exist") })
        XCTAssertEqual(try config(#"{"service_url":"pulsar://h:1","subscription":"s"}"#).problems().first?.message, "give 'topic' or 'topics'")
    }

    func testTokenSourcesNeverEchoTheToken() throws {
        let file = NSTemporaryDirectory() + "pulsar-token-\(UUID().uuidString)"
        try "secret-token-value\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        XCTAssertEqual(try config(#"{"service_url":"pulsar://h:1","topic":"t","subscription":"s","token_file":"\#(file)"}"#).connection.token.resolve(), "secret-token-value")
        XCTAssertEqual(try config(#"{"service_url":"pulsar://h:1","topic":"t","subscription":"s","token_env":"PT"}"#).connection.token.resolve(environment: ["PT": "abc"]), "abc")
        XCTAssertThrowsError(try config(#"{"service_url":"pulsar://h:1","topic":"t","subscription":"s","token_env":"PT"}"#).connection.token.resolve(environment: [:])) { error in
            XCTAssertFalse("\(error)".contains("abc"))
        }
        let both = try config(#"{"service_url":"pulsar://h:1","topic":"t","subscription":"s","token":"x","token_file":"\#(file)"}"#)
        XCTAssertTrue(both.problems().contains { $0.message.contains("at most one") && !$0.message.contains("secret") })
    }

    func testStateRoundTrips() throws {
        let state = SourceState(emitted: 12, positions: ["t": Position(ledger: 1, entry: 2, batchIndex: 3)])
        XCTAssertEqual(try SourceState.decode(state.encoded()), state)
        XCTAssertThrowsError(try SourceState.decode(Array("nonsense".utf8)))
    }
}

final class MessageBatchBuilderTests: XCTestCase {
    func testColumns() throws {
        let builder = MessageBatchBuilder()
        let entry = try BatchCodec.unpackEntry(
            topic: "persistent://public/default/t-partition-2", id: MessageID(ledger: 3, entry: 4, partition: 2),
            metadata: {
                var m = Pulsar_Proto_MessageMetadata()
                m.publishTime = 1_764_100_000_123
                m.numMessagesInBatch = 2
                return m
            }(),
            payload: BatchCodec.pack([OutgoingMessage(bytes: Array("a".utf8), key: "k", properties: [("p", "q\"")], eventTime: 5),
                                      OutgoingMessage(bytes: Array("bc".utf8))], firstSequenceID: 0))
        builder.append(entry, 0..<entry.count)
        let batch = builder.finish()
        let view = try batch.view()
        XCTAssertEqual(view.columns.map(\.name), MessageBatchBuilder.columnNames)
        XCTAssertEqual(view.length, 2)
        XCTAssertEqual(String(decoding: view.column(named: "payload")!.bytes(1), as: UTF8.self), "bc")
        XCTAssertEqual(view.column(named: "key")!.string(0), "k")
        XCTAssertTrue(view.column(named: "key")!.isNull(1))
        XCTAssertEqual(view.column(named: "properties")!.string(0), #"{"p":"q\""}"#)
        XCTAssertTrue(view.column(named: "properties")!.isNull(1))
        XCTAssertEqual(view.column(named: "publish_time")!.int64(0), 1_764_100_000_123)
        XCTAssertEqual(view.column(named: "event_time")!.int64(0), 5)
        XCTAssertTrue(view.column(named: "event_time")!.isNull(1))
        XCTAssertEqual(view.column(named: "partition")!.int64(1), 2)
        XCTAssertEqual(view.column(named: "message_id")!.string(1), "3:4:1:2")
        XCTAssertEqual(view.column(named: "topic")!.format, .utf8)
        XCTAssertEqual(view.column(named: "publish_time")!.format, .timestamp(.milliseconds, timeZone: "UTC"))
    }

    /// `columns` builds only what is asked for, in the source's order.
    func testOnlyTheConfiguredColumnsAreBuilt() throws {
        var metadata = Pulsar_Proto_MessageMetadata()
        metadata.numMessagesInBatch = 1
        let entry = try BatchCodec.unpackEntry(topic: "t", id: MessageID(ledger: 1, entry: 2), metadata: metadata,
                                               payload: BatchCodec.pack([OutgoingMessage(bytes: Array("x".utf8))], firstSequenceID: 0))
        let builder = MessageBatchBuilder(columns: ["message_id", "payload"])
        builder.append(entry, 0..<entry.count)
        let batch = builder.finish()
        let view = try batch.view()
        XCTAssertEqual(view.columns.map(\.name), ["payload", "message_id"])
        XCTAssertEqual(view.column(named: "message_id")!.string(0), "1:2:0:-1")
        let bad = try JSONDecoder().decode(PulsarSourceConfig.self, from: Data(#"{"service_url":"pulsar://h:1","topic":"t","subscription":"s","columns":["payload","body"]}"#.utf8))
        XCTAssertEqual(bad.problems().map(\.configPath), ["/columns/1"])
    }

    /// Properties go from the protobuf bytes to JSON text without strings in between: several
    /// of them in order, escapes, unicode, and bytes that are not UTF-8 (replaced, so the column
    /// stays valid UTF-8).
    func testPropertiesBecomeJSONStraightFromTheMetadataBytes() throws {
        var packed = try BatchCodec.pack([OutgoingMessage(bytes: [1], properties: [("a", "1"), ("tab\t", "\u{01}"), ("ü", "€"), ("bad", "aXb")])],
                                         firstSequenceID: 0)
        // Make "aXb" invalid UTF-8 in place: the broker passes such bytes on unchecked.
        let at = packed.readableBytesView.firstRange(of: Array("aXb".utf8))!.lowerBound + 1 - packed.readerIndex
        packed.setInteger(UInt8(0xff), at: packed.readerIndex + at)
        let entry = try BatchCodec.unpackEntry(
            topic: "t", id: MessageID(ledger: 1, entry: 1),
            metadata: {
                var m = Pulsar_Proto_MessageMetadata()
                m.numMessagesInBatch = 1
                return m
            }(),
            payload: packed)
        let builder = MessageBatchBuilder()
        builder.append(entry, 0..<entry.count)
        let batch = builder.finish()
        let view = try batch.view()
        XCTAssertEqual(view.column(named: "properties")!.string(0), #"{"a":"1","tab\t":"\u0001","ü":"€","bad":"a"# + "\u{FFFD}" + #"b"}"#)
        XCTAssertEqual(entry.message(at: 0).properties.map(\.key), ["a", "tab\t", "ü", "bad"])
    }
}
