/// Appends little-endian fields to a growing byte buffer; the encoding half of the codec.
///
/// A value type owned by one encode call; not shared between threads.
struct CheckpointByteWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    // MARK: Integers

    mutating func appendUInt8(_ value: UInt8) {
        bytes.append(value)
    }

    mutating func appendUInt32(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift)))
        }
    }

    mutating func appendUInt64(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) {
            bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift)))
        }
    }

    mutating func appendInt64(_ value: Int64) {
        appendUInt64(UInt64(bitPattern: value))
    }

    /// Overwrites eight bytes already written at `offset`; used to fill in the total length
    /// once the body size is known.
    mutating func patchUInt64(_ value: UInt64, at offset: Int) {
        for index in 0..<8 {
            bytes[offset + index] = UInt8(truncatingIfNeeded: value >> UInt64(index * 8))
        }
    }

    /// Appends raw bytes without a length prefix; only the fixed-size magic uses this.
    mutating func appendBytes(_ raw: [UInt8]) {
        bytes.append(contentsOf: raw)
    }

    // MARK: Length-prefixed fields

    /// Appends a u32 byte count and the bytes. Over 4 GiB cannot be represented in the
    /// format; that is a caller bug (state that large cannot be checkpointed in one file), so
    /// it traps instead of writing a file that would fail to decode.
    mutating func appendLengthPrefixed<C: Collection>(_ field: C, named name: StaticString) where C.Element == UInt8 {
        precondition(field.count <= Int(UInt32.max), "checkpoint field \(name) is \(field.count) bytes; the format caps fields at 4 GiB")
        appendUInt32(UInt32(field.count))
        bytes.append(contentsOf: field)
    }

    mutating func appendString(_ value: String, named name: StaticString) {
        appendLengthPrefixed(value.utf8, named: name)
    }
}
