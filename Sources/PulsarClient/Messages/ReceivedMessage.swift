import NIOCore

/// One message as the application sees it: a single message of an entry, batch entries
/// already unpacked.
///
/// Pure value; any thread (the payload buffer is immutable once built).
public struct ReceivedMessage {
    /// The topic (the partition's own name for partitioned topics).
    public var topic: String
    public var id: MessageID
    /// Messages in this message's entry: 1 for a message sent without batching.
    public var entrySize: Int32
    public var key: String?
    /// Properties in the order the producer gave them, read on demand.
    public var messageProperties: MessageProperties
    /// Properties in the order the producer gave them, as strings.
    public var properties: [(key: String, value: String)] { messageProperties.list }
    /// Milliseconds since the epoch.
    public var publishTime: UInt64
    /// Milliseconds since the epoch; nil when the producer set none.
    public var eventTime: UInt64?
    public var payload: ByteBuffer
    public var redeliveryCount: UInt32

    /// True when this is the last message of its entry, so the whole entry has been seen.
    public var completesEntry: Bool { id.batchIndex < 0 || id.batchIndex >= entrySize - 1 }
}

/// A message to produce.
public struct OutgoingMessage {
    public var payload: ByteBuffer
    public var key: String?
    public var properties: [(key: String, value: String)]
    public var eventTime: UInt64?

    public init(payload: ByteBuffer, key: String? = nil, properties: [(key: String, value: String)] = [], eventTime: UInt64? = nil) {
        self.payload = payload
        self.key = key
        self.properties = properties
        self.eventTime = eventTime
    }

    public init(bytes: [UInt8], key: String? = nil, properties: [(key: String, value: String)] = [], eventTime: UInt64? = nil) {
        self.init(payload: ByteBuffer(bytes: bytes), key: key, properties: properties, eventTime: eventTime)
    }
}
