/// Reads little-endian fields from a byte range, bounds-checking every read; the decoding
/// half of the codec.
///
/// Every failure is a ``CheckpointFormatError/malformed(_:)`` naming the field and offset,
/// and lengths are checked against the bytes that remain before anything is allocated, so
/// arbitrary input can neither crash the reader nor make it allocate more than the input size.
/// A value type owned by one decode call; not shared between threads.
struct CheckpointByteReader {
    private let bytes: [UInt8]
    private(set) var position: Int
    private let end: Int

    /// Reads `bytes[start..<end]`; the caller guarantees the range lies within `bytes`.
    init(_ bytes: [UInt8], from start: Int, to end: Int) {
        self.bytes = bytes
        self.position = start
        self.end = end
    }

    var remaining: Int { end - position }

    // MARK: Integers

    mutating func readUInt8(_ field: String) throws -> UInt8 {
        try require(1, for: field)
        defer { position += 1 }
        return bytes[position]
    }

    mutating func readUInt32(_ field: String) throws -> UInt32 {
        UInt32(truncatingIfNeeded: try readLittleEndian(byteCount: 4, field))
    }

    mutating func readUInt64(_ field: String) throws -> UInt64 {
        try readLittleEndian(byteCount: 8, field)
    }

    mutating func readInt64(_ field: String) throws -> Int64 {
        Int64(bitPattern: try readUInt64(field))
    }

    // MARK: Length-prefixed fields

    mutating func readBytes(_ field: String) throws -> [UInt8] {
        let count = Int(try readUInt32("\(field) length"))
        try require(count, for: field)
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    mutating func readString(_ field: String) throws -> String {
        let start = position
        let raw = try readBytes(field)
        guard let string = String(validating: raw, as: UTF8.self) else {
            throw CheckpointFormatError.malformed("\(field) at offset \(start) is not valid UTF-8")
        }
        return string
    }

    // MARK: Bounds

    private mutating func readLittleEndian(byteCount: Int, _ field: String) throws -> UInt64 {
        try require(byteCount, for: field)
        var value: UInt64 = 0
        for index in 0..<byteCount {
            value |= UInt64(bytes[position + index]) << UInt64(index * 8)
        }
        position += byteCount
        return value
    }

    private func require(_ count: Int, for field: String) throws {
        guard count <= remaining else {
            throw CheckpointFormatError.malformed("\(field) at offset \(position) needs \(count) bytes but only \(remaining) remain")
        }
    }
}
