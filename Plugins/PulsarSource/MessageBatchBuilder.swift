import PluginKit
import PulsarClient

/// Turns received messages into one Arrow batch with the source's columns:
///
///     payload       binary
///     key           utf8, nullable
///     properties    utf8 (a JSON object), nullable
///     publish_time  timestamp ms UTC
///     event_time    timestamp ms UTC, nullable
///     topic         utf8
///     partition     int32 (-1 for a non-partitioned topic)
///     message_id    utf8 "ledger:entry:batchIndex:partition"
///
/// Only the columns asked for are built (`columns` in the configuration).
///
/// Builders are reused between batches. Not thread-safe: the operator thread.
final class MessageBatchBuilder {
    /// Every column the source can emit, in its order: what the builders below build and what
    /// `outputSchema` declares before the run.
    static let fields = [
        ArrowField(name: "payload", format: .binary, nullable: false),
        ArrowField(name: "key", format: .utf8),
        ArrowField(name: "properties", format: .utf8),
        ArrowField(name: "publish_time", format: .timestamp(.milliseconds, timeZone: "UTC"), nullable: false),
        ArrowField(name: "event_time", format: .timestamp(.milliseconds, timeZone: "UTC")),
        ArrowField(name: "topic", format: .utf8, nullable: false),
        ArrowField(name: "partition", format: .int32, nullable: false),
        ArrowField(name: "message_id", format: .utf8, nullable: false),
    ]
    static let columnNames = fields.map(\.name)

    /// The fields of `columns` (nil: all), in the source's order.
    static func fields(columns: [String]?) -> [ArrowField] {
        guard let columns else { return fields }
        return fields.filter { columns.contains($0.name) }
    }

    private let payload = MessageBatchBuilder.builder("payload")
    private let key = MessageBatchBuilder.builder("key")
    private let properties = MessageBatchBuilder.builder("properties")
    private let publishTime = MessageBatchBuilder.builder("publish_time")
    private let eventTime = MessageBatchBuilder.builder("event_time")
    private let topic = MessageBatchBuilder.builder("topic")
    private let partition = MessageBatchBuilder.builder("partition")
    private let messageID = MessageBatchBuilder.builder("message_id")
    private var json: [UInt8] = []
    /// The message id text being written: "ledger:entry:" of the current entry, then each
    /// message's batch index and ":partition". 20 + 1 + 20 + 1 + 11 + 1 + 11 bytes at most.
    private let idText = UnsafeMutablePointer<UInt8>.allocate(capacity: 96)
    /// ":partition" of the current entry.
    private let idSuffix = UnsafeMutablePointer<UInt8>.allocate(capacity: 16)

    /// Which of `columnNames` are built.
    private let wants: (payload: Bool, key: Bool, properties: Bool, publishTime: Bool, eventTime: Bool, topic: Bool, partition: Bool, messageID: Bool)
    private let built: [ArrowColumnBuilder]

    /// `columns`: names of `columnNames`; nil builds them all.
    init(columns: [String]? = nil) {
        // The columns `outputSchema` declares for the same configuration, so the batches match it.
        let wanted = Set(Self.fields(columns: columns).map(\.name))
        wants = (wanted.contains("payload"), wanted.contains("key"), wanted.contains("properties"), wanted.contains("publish_time"),
                 wanted.contains("event_time"), wanted.contains("topic"), wanted.contains("partition"), wanted.contains("message_id"))
        built = [payload, key, properties, publishTime, eventTime, topic, partition, messageID].filter { wanted.contains($0.name) }
    }

    /// The builder of the column `name` of `fields`.
    private static func builder(_ name: String) -> ArrowColumnBuilder {
        let field = fields.first { $0.name == name }!
        return ArrowColumnBuilder(name: field.name, format: field.format, nullable: field.nullable)
    }

    deinit {
        idText.deallocate()
        idSuffix.deallocate()
    }

    /// Appends the messages `indices` of `entry`, read in place, column by column: what the
    /// messages of an entry share (topic, publish time, partition, most of the message id) is
    /// read once.
    func append(_ entry: ReceivedEntry, _ indices: Range<Int>) {
        entry.withUnsafeMessages(indices) { messages in
            let n = messages.count
            if wants.payload { for i in 0..<n { payload.append(bytes: messages.payload(i)) } }
            if wants.key {
                for i in 0..<n {
                    if let bytes = messages.key(i) { JSONText.withValidUTF8(bytes) { key.append(bytes: $0) } } else { key.appendNull() }
                }
            }
            if wants.properties { for i in 0..<n { appendProperties(messages, i) } }
            if wants.publishTime { for _ in 0..<n { publishTime.append(Int64(bitPattern: entry.publishTime)) } }
            if wants.eventTime {
                for i in 0..<n {
                    let time = messages.spans[i].eventTime
                    if time > 0 { eventTime.append(Int64(bitPattern: time)) } else { eventTime.appendNull() }
                }
            }
            if wants.partition { for _ in 0..<n { partition.append(Int64(entry.id.partition)) } }
            if wants.messageID { appendMessageIDs(entry.id, messages.spans) }
        }
        if wants.topic {
            var name = entry.topic
            name.withUTF8 { name in for _ in indices { topic.append(bytes: UnsafeRawBufferPointer(name)) } }
        }
    }

    private func appendProperties(_ messages: ReceivedEntry.UnsafeMessages, _ i: Int) {
        guard messages.hasProperties(i) else {
            properties.appendNull()
            return
        }
        json.removeAll(keepingCapacity: true)
        json.append(UInt8(ascii: "{"))
        messages.forEachProperty(i) { key, value in
            if json.count > 1 { json.append(UInt8(ascii: ",")) }
            JSONText.appendString(utf8: key, to: &json)
            json.append(UInt8(ascii: ":"))
            JSONText.appendString(utf8: value, to: &json)
        }
        json.append(UInt8(ascii: "}"))
        json.withUnsafeBytes { properties.append(bytes: $0) }
    }

    /// "ledger:entry:batchIndex:partition" of each message, written without building a String;
    /// all but the batch index once per entry.
    private func appendMessageIDs(_ id: MessageID, _ spans: UnsafeBufferPointer<ReceivedEntry.Span>) {
        var prefix = Self.writeDecimal(id.ledger, negative: false, to: idText)
        idText[prefix] = UInt8(ascii: ":")
        prefix += 1
        prefix += Self.writeDecimal(id.entry, negative: false, to: idText + prefix)
        idText[prefix] = UInt8(ascii: ":")
        prefix += 1
        idSuffix[0] = UInt8(ascii: ":")
        let suffix = 1 + Self.writeDecimal(UInt64(id.partition.magnitude), negative: id.partition < 0, to: idSuffix + 1)
        for span in spans {
            var n = prefix + Self.writeDecimal(UInt64(span.batchIndex.magnitude), negative: span.batchIndex < 0, to: idText + prefix)
            (idText + n).update(from: idSuffix, count: suffix)
            n += suffix
            messageID.append(bytes: UnsafeRawBufferPointer(start: idText, count: n))
        }
    }

    /// Writes `value` in decimal at `out` (up to 21 bytes); returns the bytes written.
    private static func writeDecimal(_ value: UInt64, negative: Bool, to out: UnsafeMutablePointer<UInt8>) -> Int {
        var n = 0
        if negative { out[0] = UInt8(ascii: "-"); n = 1 }
        var digits = 1, v = value
        while v >= 10 { v /= 10; digits += 1 }
        v = value
        for k in stride(from: n + digits - 1, through: n, by: -1) {
            out[k] = UInt8(ascii: "0") + UInt8(v % 10)
            v /= 10
        }
        return n + digits
    }

    func finish() -> ArrowBatch {
        ArrowBatchBuilder(columns: built).finish()
    }
}

/// JSON string escaping (RFC 8259).
enum JSONText {
    /// Appends `bytes` as a JSON string. Bytes that are not valid UTF-8 (the broker does not
    /// check) are replaced with U+FFFD, so the column stays valid UTF-8.
    static func appendString(utf8 bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        withValidUTF8(bytes) { appendValidString($0, to: &out) }
    }

    /// Calls `body` with `bytes` (sent by a producer, unchecked) as valid UTF-8: invalid
    /// sequences become U+FFFD.
    static func withValidUTF8<R>(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        guard bytes.contains(where: { $0 >= 0x80 }) else { return body(bytes) }
        var repaired = String(decoding: bytes, as: UTF8.self)
        return repaired.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    private static func appendValidString(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): out.append(92); out.append(34)
            case UInt8(ascii: "\\"): out.append(92); out.append(92)
            case UInt8(ascii: "\n"): out.append(92); out.append(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): out.append(92); out.append(UInt8(ascii: "r"))
            case UInt8(ascii: "\t"): out.append(92); out.append(UInt8(ascii: "t"))
            case 0..<0x20:
                let hex: StaticString = "0123456789abcdef"
                out.append(contentsOf: [92, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                out.append(hex.utf8Start[Int(byte >> 4)])
                out.append(hex.utf8Start[Int(byte & 15)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
