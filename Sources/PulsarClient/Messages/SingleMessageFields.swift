import NIOCore

/// The fields of one `SingleMessageMetadata` the consumer needs, read straight from its
/// protobuf bytes: no message object, no allocation (the key is where it lies in the bytes).
/// A batch entry carries one of these per message, so a generic protobuf decoder here was the
/// largest per-message cost of the consumer (see docs/cpu-profile.md).
///
/// Properties (field 1) are not decoded: `MessageProperties` reads them from the same bytes
/// when, and if, they are asked for.
///
/// Pure; any thread.
struct SingleMessageFields {
    var payloadSize: Int32 = -1
    /// Where the partition key's bytes lie in the metadata.
    var partitionKey: Range<Int>?
    var nullPartitionKey = false
    var compactedOut = false
    var eventTime: UInt64 = 0
    var hasProperties = false

    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    init(_ bytes: UnsafeRawBufferPointer) throws {
        var reader = ProtobufReader(bytes)
        while let (field, wireType) = try reader.nextTag() {
            switch (field, wireType) {
            case (1, 2):
                _ = try reader.lengthDelimited()
                hasProperties = true
            case (2, 2):
                let key = try reader.lengthDelimited()
                partitionKey = (reader.offset - key.count)..<reader.offset
            case (3, 0):
                payloadSize = Int32(truncatingIfNeeded: try reader.varint())
            case (4, 0):
                compactedOut = try reader.varint() != 0
            case (5, 0):
                eventTime = try reader.varint()
            case (10, 0):
                nullPartitionKey = try reader.varint() != 0
            default:
                try reader.skip(wireType: wireType)
            }
        }
        guard payloadSize >= 0 else { throw Malformed(description: "no payload_size") }
    }
}

/// Reads protobuf wire format from bytes it does not own. Pure; any thread.
struct ProtobufReader {
    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Bytes read so far.
    var offset: Int { position }

    /// The next field number and wire type, or nil at the end.
    mutating func nextTag() throws -> (UInt64, UInt64)? {
        guard position < bytes.count else { return nil }
        let tag = try varint()
        guard tag >> 3 > 0 else { throw SingleMessageFields.Malformed(description: "field number 0") }
        return (tag >> 3, tag & 7)
    }

    mutating func varint() throws -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while position < bytes.count, shift < 64 {
            let byte = bytes[position]
            position += 1
            value |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        throw SingleMessageFields.Malformed(description: "truncated varint")
    }

    mutating func lengthDelimited() throws -> UnsafeRawBufferPointer {
        let length = try varint()
        guard length <= UInt64(bytes.count - position) else {
            throw SingleMessageFields.Malformed(description: "field of \(length) bytes runs past the metadata")
        }
        let start = position
        position += Int(length)
        return UnsafeRawBufferPointer(rebasing: bytes[start..<position])
    }

    mutating func skip(wireType: UInt64) throws {
        switch wireType {
        case 0: _ = try varint()
        case 1, 5:
            let width = wireType == 1 ? 8 : 4
            guard bytes.count - position >= width else { throw SingleMessageFields.Malformed(description: "truncated fixed field") }
            position += width
        case 2: _ = try lengthDelimited()
        default: throw SingleMessageFields.Malformed(description: "unsupported wire type \(wireType)")
        }
    }
}

/// A message's properties: decoded already (a non-batched message, whose entry metadata was
/// decoded whole), or still as the `SingleMessageMetadata` bytes they came in, read on demand.
/// Pure value; any thread.
public struct MessageProperties {
    enum Storage {
        case list([(key: String, value: String)])
        /// Protobuf bytes whose field 1 entries are `KeyValue`s.
        case encoded(ByteBuffer)
    }

    let storage: Storage

    static let none = MessageProperties(storage: .list([]))

    public var isEmpty: Bool {
        if case .list(let list) = storage { return list.isEmpty }
        return false  // encoded only when field 1 was seen
    }

    /// Calls `body` with the UTF-8 bytes of each key and value, in order, without building
    /// strings.
    public func forEach(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) {
        switch storage {
        case .list(let list):
            for (key, value) in list {
                var key = key, value = value
                key.withUTF8 { k in value.withUTF8 { v in body(UnsafeRawBufferPointer(k), UnsafeRawBufferPointer(v)) } }
            }
        case .encoded(let buffer):
            buffer.withUnsafeReadableBytes { Self.forEachEncoded($0, body) }
        }
    }

    /// As `forEach`, over the `SingleMessageMetadata` bytes the properties are field 1 of.
    static func forEachEncoded(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) {
        // The bytes were read once already (SingleMessageFields), so they parse.
        var reader = ProtobufReader(bytes)
        while let (field, wireType) = try? reader.nextTag() {
            guard field == 1, wireType == 2 else {
                guard (try? reader.skip(wireType: wireType)) != nil else { return }
                continue
            }
            guard let entry = try? reader.lengthDelimited() else { return }
            var pair = ProtobufReader(entry)
            var key = UnsafeRawBufferPointer(start: nil, count: 0), value = key
            while let (f, w) = try? pair.nextTag() {
                if w == 2, f == 1 || f == 2, let bytes = try? pair.lengthDelimited() {
                    if f == 1 { key = bytes } else { value = bytes }
                } else if (try? pair.skip(wireType: w)) == nil {
                    break
                }
            }
            body(key, value)
        }
    }

    /// As strings, in order.
    public var list: [(key: String, value: String)] {
        if case .list(let list) = storage { return list }
        var out: [(key: String, value: String)] = []
        forEach { out.append((String(decoding: $0, as: UTF8.self), String(decoding: $1, as: UTF8.self))) }
        return out
    }
}
