import Foundation
import NIOCore
@testable import PulsarClient
import XCTest

final class BatchCodecTests: XCTestCase {
    private func messages() -> [OutgoingMessage] {
        [
            OutgoingMessage(bytes: Array("first".utf8), key: "k1", properties: [("a", "1"), ("b", "2")], eventTime: 111),
            OutgoingMessage(bytes: Array("second".utf8)),
            OutgoingMessage(bytes: [], key: "k3", properties: [("c", "3")]),
        ]
    }

    private func metadata(count: Int, compression: CompressionCodec = .none, size: Int = 0) -> Pulsar_Proto_MessageMetadata {
        var m = Pulsar_Proto_MessageMetadata()
        m.producerName = "p"
        m.sequenceID = 10
        m.publishTime = 1_764_100_000_500
        m.numMessagesInBatch = Int32(count)
        if compression != .none {
            m.compression = compression.protocolValue
            m.uncompressedSize = UInt32(size)
        }
        return m
    }

    func testBatchEntryUnpacksIntoSingleMessagesWithTheirMetadata() throws {
        let packed = try BatchCodec.pack(messages(), firstSequenceID: 10)
        for codec in CompressionCodec.allCases {
            let payload = try codec.compress(packed)
            let out = try BatchCodec.unpack(topic: "persistent://public/default/t", id: MessageID(ledger: 5, entry: 6, partition: 2),
                                            metadata: metadata(count: 3, compression: codec, size: packed.readableBytes), payload: payload)
            XCTAssertEqual(out.map { String(buffer: $0.payload) }, ["first", "second", ""], "\(codec)")
            XCTAssertEqual(out.map(\.key), ["k1", nil, "k3"])
            XCTAssertEqual(out[0].properties.map { "\($0.key)=\($0.value)" }, ["a=1", "b=2"])
            XCTAssertEqual(out.map(\.eventTime), [111, nil, nil])
            XCTAssertEqual(out.map(\.publishTime), [1_764_100_000_500, 1_764_100_000_500, 1_764_100_000_500])
            XCTAssertEqual(out.map(\.id.description), ["5:6:0:2", "5:6:1:2", "5:6:2:2"])
            XCTAssertEqual(out.map(\.completesEntry), [false, false, true])
        }
    }

    func testAckSetLeavesOutAcknowledgedIndexes() throws {
        let packed = try BatchCodec.pack(messages(), firstSequenceID: 0)
        // Bits set = still to deliver: indexes 0 and 2.
        let out = try BatchCodec.unpack(topic: "t", id: MessageID(ledger: 1, entry: 1), metadata: metadata(count: 3), payload: packed, ackSet: [0b101])
        XCTAssertEqual(out.map(\.id.batchIndex), [0, 2])
    }

    func testNonBatchedMessageKeepsEntryMetadata() throws {
        var m = Pulsar_Proto_MessageMetadata()
        m.producerName = "p"
        m.publishTime = 42
        m.partitionKey = "key"
        m.eventTime = 7
        var kv = Pulsar_Proto_KeyValue()
        kv.key = "x"
        kv.value = "y"
        m.properties = [kv]
        let out = try BatchCodec.unpack(topic: "t", id: MessageID(ledger: 1, entry: 2), metadata: m, payload: ByteBuffer(string: "solo"))
        XCTAssertEqual(out.count, 1)
        XCTAssertEqual(out[0].id.batchIndex, -1)
        XCTAssertEqual(out[0].key, "key")
        XCTAssertEqual(out[0].eventTime, 7)
        XCTAssertTrue(out[0].completesEntry)
    }

    /// The consumer's path: one entry, messages declined by `keep` left out, the rest read in
    /// place (payload, key, properties, event time) and as values, with the same content.
    func testAnEntryIsReadInPlaceAndKeepLeavesMessagesOut() throws {
        let packed = try BatchCodec.pack(messages(), firstSequenceID: 0)
        var asked: [(Int32, Bool)] = []
        let entry = try BatchCodec.unpackEntry(topic: "t", id: MessageID(ledger: 7, entry: 8, partition: 1), metadata: metadata(count: 3),
                                               payload: packed) { id, completesEntry in
            asked.append((id.batchIndex, completesEntry))
            return id.batchIndex != 1
        }
        XCTAssertEqual(asked.map(\.0), [0, 1, 2])
        XCTAssertEqual(asked.map(\.1), [false, false, true])
        XCTAssertEqual(entry.count, 2)
        XCTAssertEqual([entry.id(at: 0).description, entry.id(at: 1).description], ["7:8:0:1", "7:8:2:1"])
        XCTAssertEqual([entry.completesEntry(at: 0), entry.completesEntry(at: 1)], [false, true])
        entry.withUnsafeMessages(0..<2) { view in
            XCTAssertEqual(view.count, 2)
            XCTAssertEqual(String(decoding: view.payload(0), as: UTF8.self), "first")
            XCTAssertEqual(view.payload(1).count, 0)
            XCTAssertEqual(view.key(0).map { String(decoding: $0, as: UTF8.self) }, "k1")
            XCTAssertEqual(view.key(1).map { String(decoding: $0, as: UTF8.self) }, "k3")
            var pairs: [String] = []
            view.forEachProperty(0) { pairs.append(String(decoding: $0, as: UTF8.self) + "=" + String(decoding: $1, as: UTF8.self)) }
            XCTAssertEqual(pairs, ["a=1", "b=2"])
            XCTAssertEqual(view.spans.map(\.eventTime), [111, 0])
        }
        XCTAssertEqual(entry.messages.map { String(buffer: $0.payload) }, ["first", ""])
        XCTAssertEqual(entry.messages.map(\.properties.count), [2, 1])
        // A message sent without batching: its key and properties come from the entry's metadata.
        var m = Pulsar_Proto_MessageMetadata()
        m.publishTime = 42
        m.partitionKey = "solo-key"
        var kv = Pulsar_Proto_KeyValue()
        kv.key = "x"
        kv.value = "y"
        m.properties = [kv]
        let solo = try BatchCodec.unpackEntry(topic: "t", id: MessageID(ledger: 1, entry: 2), metadata: m, payload: ByteBuffer(string: "solo"))
        solo.withUnsafeMessages(0..<1) { view in
            XCTAssertEqual(String(decoding: view.payload(0), as: UTF8.self), "solo")
            XCTAssertEqual(view.key(0).map { String(decoding: $0, as: UTF8.self) }, "solo-key")
            XCTAssertTrue(view.hasProperties(0))
            var pairs: [String] = []
            view.forEachProperty(0) { pairs.append(String(decoding: $0, as: UTF8.self) + "=" + String(decoding: $1, as: UTF8.self)) }
            XCTAssertEqual(pairs, ["x=y"])
        }
        let declined = try BatchCodec.unpackEntry(topic: "t", id: MessageID(ledger: 1, entry: 2), metadata: m, payload: ByteBuffer(string: "solo")) { _, _ in false }
        XCTAssertEqual(declined.count, 0)
    }

    func testMalformedBatchesAreErrors() throws {
        let packed = try BatchCodec.pack(messages(), firstSequenceID: 0)
        // Claims more messages than it holds.
        XCTAssertThrowsError(try BatchCodec.unpack(topic: "t", id: MessageID(ledger: 1, entry: 1), metadata: metadata(count: 4), payload: packed))
        // Truncated in the middle of a payload.
        let cut = packed.getSlice(at: 0, length: packed.readableBytes - 3)!
        XCTAssertThrowsError(try BatchCodec.unpack(topic: "t", id: MessageID(ledger: 1, entry: 1), metadata: metadata(count: 3), payload: cut))
        // A metadata size that runs past the entry.
        var bad = ByteBuffer()
        bad.writeInteger(UInt32(1000))
        bad.writeBytes([1, 2, 3])
        XCTAssertThrowsError(try BatchCodec.unpack(topic: "t", id: MessageID(ledger: 1, entry: 1), metadata: metadata(count: 1), payload: bad)) { error in
            XCTAssertTrue("\(error)".contains("runs past the entry"), "\(error)")
        }
    }
}

final class SingleMessageFieldsTests: XCTestCase {
    /// Fields this reader does not know (a newer producer's) are skipped by wire type, and a
    /// truncated metadata is an error, not a crash.
    func testUnknownFieldsAreSkippedAndTruncationIsAnError() throws {
        var single = Pulsar_Proto_SingleMessageMetadata()
        single.payloadSize = 3
        single.partitionKey = "sensor-0001"
        single.eventTime = 77
        single.sequenceID = 9
        single.orderingKey = Data([1, 2, 3])
        var bytes: [UInt8] = try single.serializedBytes()
        bytes += [0xF8, 0x06, 0x05]  // field 111, varint 5
        bytes += [0x85, 0x07, 1, 2, 3, 4]  // field 112, fixed32
        let fields = try bytes.withUnsafeBytes { try SingleMessageFields($0) }
        XCTAssertEqual(fields.payloadSize, 3)
        XCTAssertEqual(fields.partitionKey.map { String(decoding: bytes[$0], as: UTF8.self) }, "sensor-0001")
        XCTAssertEqual(fields.eventTime, 77)
        XCTAssertFalse(fields.hasProperties)
        XCTAssertThrowsError(try Array(bytes.dropLast(3)).withUnsafeBytes { try SingleMessageFields($0) })
        XCTAssertThrowsError(try [UInt8(0x18)].withUnsafeBytes { try SingleMessageFields($0) })  // payload_size without its value
    }
}

final class MessageQueueTests: XCTestCase {
    private func entry(ledger: UInt64, payloads: [String]) throws -> ReceivedEntry {
        var m = Pulsar_Proto_MessageMetadata()
        m.numMessagesInBatch = Int32(payloads.count)
        return try BatchCodec.unpackEntry(topic: "t", id: MessageID(ledger: ledger, entry: 0), metadata: m,
                                          payload: BatchCodec.pack(payloads.map { OutgoingMessage(bytes: Array($0.utf8)) }, firstSequenceID: 0))
    }

    /// Entries are taken whole while they fit, and cut into ranges of the same entry by the
    /// message and byte limits; nothing is lost or repeated, in order.
    func testEntriesAreTakenInOrderAndCutByTheLimits() throws {
        let queue = MessageQueue()
        let first = try entry(ledger: 1, payloads: ["aa", "bb", "cc"]), second = try entry(ledger: 2, payloads: ["dddd", "e"])
        queue.append(consumer: 0, first, bytes: 6)
        queue.append(consumer: 1, second, bytes: 5)
        XCTAssertEqual(queue.count, 5)
        func describe(_ chunks: [MessageQueue.Chunk]) -> [String] {
            chunks.map { c in "\(c.consumer):" + c.indices.map { String(buffer: c.entry.message(at: $0).payload) }.joined(separator: ",") + "/\(c.bytes)" }
        }
        XCTAssertEqual(describe(try queue.take(max: 2, timeoutNanoseconds: 0)), ["0:aa,bb/4"])
        XCTAssertEqual(describe(try queue.take(max: 10, maxBytes: 3, timeoutNanoseconds: 0)), ["0:cc/2"])
        // At least one message, even over the byte limit.
        XCTAssertEqual(describe(try queue.take(max: 10, maxBytes: 1, timeoutNanoseconds: 0)), ["1:dddd/4"])
        XCTAssertEqual(describe(try queue.take(max: 10, timeoutNanoseconds: 0)), ["1:e/1"])
        XCTAssertEqual(queue.count, 0)
        XCTAssertEqual(try queue.take(max: 10, timeoutNanoseconds: 0).count, 0)
        queue.append(consumer: 0, try entry(ledger: 3, payloads: ["x"]), bytes: 1)
        queue.append(consumer: 0, try entry(ledger: 4, payloads: ["y", "z"]), bytes: 2)
        XCTAssertEqual(describe(try queue.take(max: 10, timeoutNanoseconds: 0)), ["0:x/1", "0:y,z/2"])
    }

    /// A queue that never drains (an entry arrives before the last is taken) keeps a bounded
    /// array: taken chunks do not pile up in it.
    func testAQueueThatNeverDrainsStaysBounded() throws {
        let queue = MessageQueue()
        let one = try entry(ledger: 1, payloads: ["x"])
        queue.append(consumer: 0, one, bytes: 1)
        var largest = 0
        for _ in 0..<10_000 {
            queue.append(consumer: 0, one, bytes: 1)
            XCTAssertEqual(try queue.take(max: 1, timeoutNanoseconds: 0).count, 1)
            largest = max(largest, queue.storedChunks)
        }
        XCTAssertEqual(queue.count, 1)
        XCTAssertLessThanOrEqual(largest, 40)
    }
}
