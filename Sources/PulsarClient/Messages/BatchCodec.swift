import NIOCore

/// Unpacks the payload of a MESSAGE frame into single messages and packs messages into one
/// batch entry for SEND. Batch entry payload (after decompression):
///
///     repeated: [SingleMessageMetadata size u32][SingleMessageMetadata][payload bytes]
///
/// Pure; any thread.
public enum BatchCodec {
    public struct Error: Swift.Error, CustomStringConvertible, Equatable {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// The single messages of one entry, decompressed. `ackSet` (from CommandMessage) marks
    /// with a 1 bit the batch indexes still unacknowledged; others are left out.
    public static func unpack(topic: String, id: MessageID, metadata: Pulsar_Proto_MessageMetadata,
                              payload: ByteBuffer, ackSet: [Int64] = [], redeliveryCount: UInt32 = 0,
                              maxUncompressedSize: Int = 64 << 20) throws -> [ReceivedMessage] {
        try unpackEntry(topic: topic, id: id, metadata: metadata, payload: payload, ackSet: ackSet,
                        redeliveryCount: redeliveryCount, maxUncompressedSize: maxUncompressedSize).messages
    }

    /// As `unpack`, as one `ReceivedEntry`: the decompressed bytes and where each message lies
    /// in them. `keep` is asked about each message not left out by `ackSet` (its id, and
    /// whether it is the last of the entry); one it declines is left out too.
    public static func unpackEntry(topic: String, id: MessageID, metadata: Pulsar_Proto_MessageMetadata,
                                   payload compressed: ByteBuffer, ackSet: [Int64] = [], redeliveryCount: UInt32 = 0,
                                   maxUncompressedSize: Int = 64 << 20,
                                   keep: (MessageID, _ completesEntry: Bool) -> Bool = { _, _ in true }) throws -> ReceivedEntry {
        let codec = CompressionCodec(metadata.compression)
        let payload: ByteBuffer
        do {
            payload = try codec.decompress(compressed, uncompressedSize: Int(metadata.uncompressedSize), limit: maxUncompressedSize)
        } catch {
            throw Error("message \(id) on \(topic): \(error)")
        }
        guard payload.readableBytes <= Int(Int32.max) else { throw Error("message \(id) on \(topic): an entry of \(payload.readableBytes) bytes") }
        let entryEventTime = metadata.eventTime
        guard metadata.hasNumMessagesInBatch else {
            let key = metadata.hasPartitionKey && !metadata.nullPartitionKey ? Array(metadata.partitionKey.utf8) : nil
            let span = ReceivedEntry.Span(batchIndex: -1, payloadStart: 0, payloadCount: Int32(payload.readableBytes),
                                          metadataStart: 0, metadataCount: 0, keyStart: 0, keyCount: -1,
                                          eventTime: entryEventTime, hasProperties: false)
            return ReceivedEntry(topic: topic, id: id, entrySize: 1, publishTime: metadata.publishTime, redeliveryCount: redeliveryCount,
                                 bytes: payload, spans: keep(id, true) ? [span] : [], unbatchedKey: key,
                                 unbatchedProperties: MessageProperties(storage: .list(metadata.properties.map { ($0.key, $0.value) })))
        }
        let count = Int(metadata.numMessagesInBatch)
        guard count >= 0 else { throw Error("message \(id) on \(topic): negative batch size \(count)") }
        var spans: [ReceivedEntry.Span] = []
        spans.reserveCapacity(count)
        try payload.withUnsafeReadableBytes { bytes in
            var position = 0
            for index in 0..<count {
                guard bytes.count - position >= 4 else {
                    throw Error("batch entry \(id) on \(topic) ends before message \(index) of \(count)")
                }
                let size = Int(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self)))
                position += 4
                guard size <= bytes.count - position else {
                    throw Error("batch entry \(id) on \(topic): metadata of message \(index) (\(size) bytes) runs past the entry")
                }
                let metadataStart = position
                let single: SingleMessageFields
                do { single = try SingleMessageFields(UnsafeRawBufferPointer(rebasing: bytes[position..<(position + size)])) } catch {
                    throw Error("batch entry \(id) on \(topic): metadata of message \(index) is undecodable: \(error)")
                }
                position += size
                let payloadSize = Int(single.payloadSize)
                guard payloadSize >= 0, payloadSize <= bytes.count - position else {
                    throw Error("batch entry \(id) on \(topic): payload of message \(index) (\(single.payloadSize) bytes) runs past the entry")
                }
                let payloadStart = position
                position += payloadSize
                if single.compactedOut { continue }
                if !ackSet.isEmpty {
                    let word = index / 64
                    let acked = word >= ackSet.count || (UInt64(bitPattern: ackSet[word]) >> UInt64(index % 64)) & 1 == 0
                    if acked { continue }
                }
                var messageID = id
                messageID.batchIndex = Int32(index)
                guard keep(messageID, index >= count - 1) else { continue }
                let key = single.nullPartitionKey ? nil : single.partitionKey
                spans.append(ReceivedEntry.Span(
                    batchIndex: Int32(index), payloadStart: Int32(payloadStart), payloadCount: Int32(payloadSize),
                    metadataStart: Int32(metadataStart), metadataCount: Int32(size),
                    keyStart: Int32(metadataStart + (key?.lowerBound ?? 0)), keyCount: key.map { Int32($0.count) } ?? -1,
                    eventTime: single.eventTime > 0 ? single.eventTime : entryEventTime, hasProperties: single.hasProperties))
            }
        }
        return ReceivedEntry(topic: topic, id: id, entrySize: Int32(count), publishTime: metadata.publishTime, redeliveryCount: redeliveryCount,
                             bytes: payload, spans: spans, unbatchedKey: nil, unbatchedProperties: .none)
    }

    /// Packs `messages` into one (uncompressed) batch payload.
    public static func pack(_ messages: [OutgoingMessage], firstSequenceID: UInt64) throws -> ByteBuffer {
        var out = ByteBufferAllocator().buffer(capacity: messages.reduce(0) { $0 + $1.payload.readableBytes + 32 })
        for (i, message) in messages.enumerated() {
            var single = Pulsar_Proto_SingleMessageMetadata()
            single.payloadSize = Int32(message.payload.readableBytes)
            if let key = message.key { single.partitionKey = key }
            if let eventTime = message.eventTime { single.eventTime = eventTime }
            single.sequenceID = firstSequenceID + UInt64(i)
            single.properties = message.properties.map { kv in
                var p = Pulsar_Proto_KeyValue()
                p.key = kv.key
                p.value = kv.value
                return p
            }
            let bytes = try single.serializedBuffer()
            out.writeInteger(UInt32(bytes.count))
            out.writeBytes(bytes)
            var payload = message.payload
            out.writeBuffer(&payload)
        }
        return out
    }
}
