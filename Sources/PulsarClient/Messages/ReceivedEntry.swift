import NIOCore

/// The messages of one entry as they arrived: the decompressed entry's bytes and, for each
/// message delivered, where its parts lie in them (`Span`, a plain value).
///
/// This is what the consumer hands over instead of one `ReceivedMessage` per message: a
/// message costs no reference counting on either side of the consumer's queue (a
/// `ReceivedMessage` holds three references: its topic, payload and metadata), and its key and
/// properties stay bytes until something asks for them. `message(at:)` builds the
/// `ReceivedMessage` of one, for callers that want values.
///
/// Pure value; any thread (the bytes are immutable once unpacked).
public struct ReceivedEntry {
    /// Where one message's parts lie in the entry's bytes (offsets from its reader index).
    public struct Span {
        public var batchIndex: Int32
        var payloadStart: Int32
        public var payloadCount: Int32
        /// Its `SingleMessageMetadata` (empty for a message sent without batching).
        var metadataStart: Int32
        var metadataCount: Int32
        /// Its partition key (`keyCount` < 0: none, or a null key).
        var keyStart: Int32
        var keyCount: Int32
        /// Milliseconds since the epoch; 0 when the producer set none.
        public var eventTime: UInt64
        var hasProperties: Bool
    }

    /// The topic (the partition's own name for partitioned topics).
    public let topic: String
    /// The entry's id: ledger, entry and partition (batch index -1).
    public let id: MessageID
    /// Messages in the entry, delivered or not: 1 for a message sent without batching.
    public let entrySize: Int32
    /// Milliseconds since the epoch.
    public let publishTime: UInt64
    public let redeliveryCount: UInt32
    /// The decompressed entry.
    let bytes: ByteBuffer
    /// The messages delivered, in batch-index order.
    public internal(set) var spans: [Span]
    /// A message sent without batching has its key and properties in the entry's metadata,
    /// already decoded.
    let unbatchedKey: [UInt8]?
    let unbatchedProperties: MessageProperties

    /// Messages delivered.
    public var count: Int { spans.count }

    /// An entry of no messages.
    static let empty = ReceivedEntry(topic: "", id: MessageID(ledger: 0, entry: 0), entrySize: 0, publishTime: 0, redeliveryCount: 0,
                                     bytes: ByteBuffer(), spans: [], unbatchedKey: nil, unbatchedProperties: .none)

    /// The id of message `index` (of `spans`).
    public func id(at index: Int) -> MessageID {
        var id = self.id
        id.batchIndex = spans[index].batchIndex
        return id
    }

    /// True when message `index` is the last of its entry, so the whole entry has been seen.
    public func completesEntry(at index: Int) -> Bool {
        let batchIndex = spans[index].batchIndex
        return batchIndex < 0 || batchIndex >= entrySize - 1
    }

    /// Message `index` as a value of its own.
    public func message(at index: Int) -> ReceivedMessage {
        let span = spans[index]
        let key: String? = span.keyCount >= 0
            ? bytes.getString(at: bytes.readerIndex + Int(span.keyStart), length: Int(span.keyCount))
            : unbatchedKey.map { String(decoding: $0, as: UTF8.self) }
        let properties = span.hasProperties
            ? MessageProperties(storage: .encoded(bytes.getSlice(at: bytes.readerIndex + Int(span.metadataStart), length: Int(span.metadataCount))!))
            : unbatchedProperties
        return ReceivedMessage(topic: topic, id: id(at: index), entrySize: entrySize, key: key, messageProperties: properties,
                               publishTime: publishTime, eventTime: span.eventTime > 0 ? span.eventTime : nil,
                               payload: bytes.getSlice(at: bytes.readerIndex + Int(span.payloadStart), length: Int(span.payloadCount))!,
                               redeliveryCount: redeliveryCount)
    }

    /// Every message delivered, as values.
    public var messages: [ReceivedMessage] { spans.indices.map { message(at: $0) } }

    /// Calls `body` with the messages `indices` read in place; the view is valid only inside.
    public func withUnsafeMessages<R>(_ indices: Range<Int>, _ body: (UnsafeMessages) throws -> R) rethrows -> R {
        try bytes.withUnsafeReadableBytes { raw in
            try spans.withUnsafeBufferPointer { spans in
                try (unbatchedKey ?? []).withUnsafeBytes { key in
                    try body(UnsafeMessages(bytes: raw, spans: UnsafeBufferPointer(rebasing: spans[indices]),
                                            unbatchedKey: unbatchedKey == nil ? nil : key, unbatchedProperties: unbatchedProperties))
                }
            }
        }
    }

    /// Messages of an entry read in place, by position in the range they were asked for.
    public struct UnsafeMessages {
        let bytes: UnsafeRawBufferPointer
        public let spans: UnsafeBufferPointer<Span>
        let unbatchedKey: UnsafeRawBufferPointer?
        let unbatchedProperties: MessageProperties

        public var count: Int { spans.count }

        public func payload(_ i: Int) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(rebasing: bytes[Int(spans[i].payloadStart)..<Int(spans[i].payloadStart + spans[i].payloadCount)])
        }

        /// The key's UTF-8 bytes (as the producer sent them: unchecked), or nil.
        public func key(_ i: Int) -> UnsafeRawBufferPointer? {
            let span = spans[i]
            guard span.keyCount >= 0 else { return unbatchedKey }
            return UnsafeRawBufferPointer(rebasing: bytes[Int(span.keyStart)..<Int(span.keyStart + span.keyCount)])
        }

        public func hasProperties(_ i: Int) -> Bool { spans[i].hasProperties || !unbatchedProperties.isEmpty }

        /// Calls `body` with the UTF-8 bytes of each property key and value, in order.
        public func forEachProperty(_ i: Int, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) {
            let span = spans[i]
            if span.hasProperties {
                MessageProperties.forEachEncoded(UnsafeRawBufferPointer(rebasing: bytes[Int(span.metadataStart)..<Int(span.metadataStart + span.metadataCount)]), body)
            } else {
                unbatchedProperties.forEach(body)
            }
        }
    }
}
