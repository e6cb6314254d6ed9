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
    private let payload = ArrowColumnBuilder(name: "payload", format: .binary, nullable: false)
    private let key = ArrowColumnBuilder(name: "key", format: .utf8)
    private let properties = ArrowColumnBuilder(name: "properties", format: .utf8)
    private let publishTime = ArrowColumnBuilder(name: "publish_time", format: .timestamp(.milliseconds, timeZone: "UTC"), nullable: false)
    private let eventTime = ArrowColumnBuilder(name: "event_time", format: .timestamp(.milliseconds, timeZone: "UTC"))
    private let topic = ArrowColumnBuilder(name: "topic", format: .utf8, nullable: false)
    private let partition = ArrowColumnBuilder(name: "partition", format: .int32, nullable: false)
    private let messageID = ArrowColumnBuilder(name: "message_id", format: .utf8, nullable: false)
    private var json: [UInt8] = []
    /// The message id text up to the batch index, and after it, of the entry `idPrefixOf`.
    private var idPrefix: [UInt8] = [], idSuffix: [UInt8] = []
    private var idPrefixOf = MessageID(ledger: .max, entry: .max)

    static let columnNames = ["payload", "key", "properties", "publish_time", "event_time", "topic", "partition", "message_id"]

    /// Which of `columnNames` are built.
    private let wants: (payload: Bool, key: Bool, properties: Bool, publishTime: Bool, eventTime: Bool, topic: Bool, partition: Bool, messageID: Bool)
    private let built: [ArrowColumnBuilder]

    /// `columns`: names of `columnNames`; nil builds them all.
    init(columns: [String]? = nil) {
        let wanted = Set(columns ?? Self.columnNames)
        wants = (wanted.contains("payload"), wanted.contains("key"), wanted.contains("properties"), wanted.contains("publish_time"),
                 wanted.contains("event_time"), wanted.contains("topic"), wanted.contains("partition"), wanted.contains("message_id"))
        built = zip(Self.columnNames, [payload, key, properties, publishTime, eventTime, topic, partition, messageID]).filter { wanted.contains($0.0) }.map(\.1)
    }

    /// Appends the message at `m`, read in place.
    func append(_ m: UnsafePointer<ReceivedMessage>) {
        if wants.payload { m.pointee.payload.withUnsafeReadableBytes { payload.append(bytes: $0) } }
        if wants.key { if let k = m.pointee.key { key.append(k) } else { key.appendNull() } }
        if wants.properties { appendProperties(m) }
        if wants.publishTime { publishTime.append(Int64(bitPattern: m.pointee.publishTime)) }
        if wants.eventTime { if let e = m.pointee.eventTime { eventTime.append(Int64(bitPattern: e)) } else { eventTime.appendNull() } }
        if wants.topic { topic.append(m.pointee.topic) }
        if wants.partition { partition.append(Int64(m.pointee.id.partition)) }
        if wants.messageID { appendMessageID(m.pointee.id) }
    }

    private func appendProperties(_ m: UnsafePointer<ReceivedMessage>) {
        if m.pointee.messageProperties.isEmpty {
            properties.appendNull()
        } else {
            json.removeAll(keepingCapacity: true)
            json.append(UInt8(ascii: "{"))
            m.pointee.messageProperties.forEach { key, value in
                if json.count > 1 { json.append(UInt8(ascii: ",")) }
                JSONText.appendString(utf8: key, to: &json)
                json.append(UInt8(ascii: ":"))
                JSONText.appendString(utf8: value, to: &json)
            }
            json.append(UInt8(ascii: "}"))
            json.withUnsafeBytes { properties.append(bytes: $0) }
        }
    }

    private func appendMessageID(_ id: MessageID) {
        // "ledger:entry:batchIndex:partition", written without building a String; the parts
        // that every message of an entry shares are formatted once per entry.
        if id.ledger != idPrefixOf.ledger || id.entry != idPrefixOf.entry || id.partition != idPrefixOf.partition {
            idPrefixOf = id
            idPrefix.removeAll(keepingCapacity: true)
            Self.appendDecimal(id.ledger, negative: false, to: &idPrefix)
            idPrefix.append(UInt8(ascii: ":"))
            Self.appendDecimal(id.entry, negative: false, to: &idPrefix)
            idPrefix.append(UInt8(ascii: ":"))
            idSuffix.removeAll(keepingCapacity: true)
            idSuffix.append(UInt8(ascii: ":"))
            Self.appendDecimal(id.partition.magnitude, negative: id.partition < 0, to: &idSuffix)
        }
        json.removeAll(keepingCapacity: true)
        json.append(contentsOf: idPrefix)
        Self.appendDecimal(id.batchIndex.magnitude, negative: id.batchIndex < 0, to: &json)
        json.append(contentsOf: idSuffix)
        json.withUnsafeBytes { messageID.append(bytes: $0) }
    }

    private static func appendDecimal<T: UnsignedInteger & FixedWidthInteger>(_ value: T, negative: Bool, to out: inout [UInt8]) {
        if negative { out.append(UInt8(ascii: "-")) }
        var v = UInt64(value)
        if v < 10 { out.append(UInt8(ascii: "0") + UInt8(v)); return }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // up to 20 digits, one byte each
        var n = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            while v > 0 {
                buffer[n] = UInt8(ascii: "0") + UInt8(v % 10)
                v /= 10
                n += 1
            }
            for i in stride(from: n - 1, through: 0, by: -1) { out.append(buffer[i]) }
        }
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
        if bytes.contains(where: { $0 >= 0x80 }) {
            var repaired = String(decoding: bytes, as: UTF8.self)
            repaired.withUTF8 { appendValidString(UnsafeRawBufferPointer($0), to: &out) }
        } else {
            appendValidString(bytes, to: &out)
        }
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
