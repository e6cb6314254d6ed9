import NIOCore
import SwiftProtobuf

/// One frame of the Pulsar binary protocol: a command and, for MESSAGE and SEND, the message
/// metadata and the (possibly compressed, possibly batched) payload.
///
/// Wire format (big endian):
///
///     simple:  [total size u32][command size u32][BaseCommand]
///     payload: [total size u32][command size u32][BaseCommand]
///              [magic 0x0e01 u16][CRC32C u32][metadata size u32][MessageMetadata][payload]
///
/// The total size excludes its own 4 bytes; the CRC32C covers everything after it.
public struct PulsarFrame {
    public var command: Pulsar_Proto_BaseCommand
    public var payload: PayloadSection?

    public init(command: Pulsar_Proto_BaseCommand, payload: PayloadSection? = nil) {
        self.command = command
        self.payload = payload
    }

    public struct PayloadSection {
        public var metadata: Pulsar_Proto_MessageMetadata
        /// The payload as sent: compressed when `metadata.compression` says so.
        public var payload: ByteBuffer

        public init(metadata: Pulsar_Proto_MessageMetadata, payload: ByteBuffer) {
            self.metadata = metadata
            self.payload = payload
        }
    }

    static let magic: UInt16 = 0x0e01
    static let brokerEntryMetadataMagic: UInt16 = 0x0e02
    /// The broker's default maximum message size (5 MiB), plus room for the frame headers.
    public static let defaultMaxFrameSize = 5 * 1024 * 1024 + 10 * 1024
}

/// Why a frame could not be read. Every case is a clean error that closes the connection; a
/// malformed frame never crashes the process.
public enum PulsarFrameError: Error, CustomStringConvertible, Equatable {
    case checksumMismatch(expected: UInt32, actual: UInt32)
    case truncated(String)
    case frameTooLarge(size: Int, limit: Int)
    case invalidMagic(UInt16)
    case invalidCommand(String)
    case invalidMetadata(String)

    public var description: String {
        switch self {
        case .checksumMismatch(let expected, let actual):
            return "frame checksum mismatch: the frame says CRC32C \(hex(expected)) but its bytes give \(hex(actual))"
        case .truncated(let what): return "truncated frame: \(what)"
        case .frameTooLarge(let size, let limit): return "frame of \(size) bytes is larger than the limit of \(limit) bytes"
        case .invalidMagic(let magic): return "frame has magic number \(hex(UInt32(magic))) instead of 0x0e01"
        case .invalidCommand(let why): return "undecodable command: \(why)"
        case .invalidMetadata(let why): return "undecodable message metadata: \(why)"
        }
    }

    private func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }
}

// MARK: - Protobuf over ByteBuffer

extension SwiftProtobuf.Message {
    /// Decodes the readable bytes of `buffer` without copying them; required fields are not
    /// enforced (a broker may omit fields we declare required but do not read).
    init(buffer: ByteBuffer) throws {
        self = try buffer.withUnsafeReadableBytes { raw in
            try Self(serializedBytes: raw.bytes, partial: true)
        }
    }

    func serializedBuffer() throws -> [UInt8] {
        try serializedBytes(partial: true)
    }
}
