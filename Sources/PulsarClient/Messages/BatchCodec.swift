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
        var messages: [ReceivedMessage] = []
        try unpack(topic: topic, id: id, metadata: metadata, payload: payload, ackSet: ackSet,
                   redeliveryCount: redeliveryCount, maxUncompressedSize: maxUncompressedSize) { messages.append($0) }
        return messages
    }

    /// As `unpack(...)`, handing each message to `body` instead of building an array. `body`
    /// owns the message: keeping it moves it, without retaining each of its buffers again.
    public static func unpack(topic: String, id: MessageID, metadata: Pulsar_Proto_MessageMetadata,
                              payload compressed: ByteBuffer, ackSet: [Int64] = [], redeliveryCount: UInt32 = 0,
                              maxUncompressedSize: Int = 64 << 20, _ body: (consuming ReceivedMessage) throws -> Void) throws {
        let codec = CompressionCodec(metadata.compression)
        var payload: ByteBuffer
        do {
            payload = try codec.decompress(compressed, uncompressedSize: Int(metadata.uncompressedSize), limit: maxUncompressedSize)
        } catch {
            throw Error("message \(id) on \(topic): \(error)")
        }
        let publishTime = metadata.publishTime
        let entryEventTime: UInt64? = metadata.eventTime > 0 ? metadata.eventTime : nil
        guard metadata.hasNumMessagesInBatch else {
            let key = metadata.hasPartitionKey && !metadata.nullPartitionKey ? metadata.partitionKey : nil
            try body(ReceivedMessage(topic: topic, id: id, entrySize: 1, key: key,
                                     messageProperties: MessageProperties(storage: .list(metadata.properties.map { ($0.key, $0.value) })),
                                     publishTime: publishTime, eventTime: entryEventTime, payload: payload,
                                     redeliveryCount: redeliveryCount))
            return
        }
        let count = Int(metadata.numMessagesInBatch)
        guard count >= 0 else { throw Error("message \(id) on \(topic): negative batch size \(count)") }
        for index in 0..<count {
            guard let size = payload.readInteger(as: UInt32.self) else {
                throw Error("batch entry \(id) on \(topic) ends before message \(index) of \(count)")
            }
            guard Int(size) <= payload.readableBytes, let metadataBytes = payload.readSlice(length: Int(size)) else {
                throw Error("batch entry \(id) on \(topic): metadata of message \(index) (\(size) bytes) runs past the entry")
            }
            let single: SingleMessageFields
            do { single = try metadataBytes.withUnsafeReadableBytes { try SingleMessageFields($0) } } catch {
                throw Error("batch entry \(id) on \(topic): metadata of message \(index) is undecodable: \(error)")
            }
            let payloadSize = Int(single.payloadSize)
            guard payloadSize >= 0, payloadSize <= payload.readableBytes, let body1 = payload.readSlice(length: payloadSize) else {
                throw Error("batch entry \(id) on \(topic): payload of message \(index) (\(single.payloadSize) bytes) runs past the entry")
            }
            if single.compactedOut { continue }
            if !ackSet.isEmpty {
                let word = index / 64
                let acked = word >= ackSet.count || (UInt64(bitPattern: ackSet[word]) >> UInt64(index % 64)) & 1 == 0
                if acked { continue }
            }
            var messageID = id
            messageID.batchIndex = Int32(index)
            let key = single.nullPartitionKey ? nil : single.partitionKey
            try body(ReceivedMessage(topic: topic, id: messageID, entrySize: Int32(count), key: key,
                                     messageProperties: single.hasProperties ? MessageProperties(storage: .encoded(metadataBytes)) : .none,
                                     publishTime: publishTime,
                                     eventTime: single.eventTime > 0 ? single.eventTime : entryEventTime,
                                     payload: body1, redeliveryCount: redeliveryCount))
        }
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
