import CRC32C
import NIOCore

/// Splits the inbound byte stream into `PulsarFrame`s, verifying every payload checksum.
///
/// Runs on the channel's event loop.
public struct PulsarFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = PulsarFrame

    public let maxFrameSize: Int

    public init(maxFrameSize: Int = PulsarFrame.defaultMaxFrameSize) {
        self.maxFrameSize = maxFrameSize
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try Self.decodeFrame(from: &buffer, maxFrameSize: maxFrameSize) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        try Self.checkNothingLeft(&buffer)
        return .needMoreData
    }

    /// At the end of the stream: bytes left over are a truncated frame. Pure.
    public static func checkNothingLeft(_ buffer: inout ByteBuffer) throws {
        guard buffer.readableBytes > 0 else { return }
        let declared = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self).map { " of \(Int($0) + 4)" } ?? ""
        let count = buffer.readableBytes
        buffer.moveReaderIndex(forwardBy: count)
        throw PulsarFrameError.truncated("the connection ended after \(count)\(declared) bytes of a frame")
    }

    /// Reads one frame from `buffer` when it holds a whole one; nil when more bytes are needed.
    /// Pure: usable without a channel (tests, tools).
    public static func decodeFrame(from buffer: inout ByteBuffer, maxFrameSize: Int = PulsarFrame.defaultMaxFrameSize,
                                   requireChecksum: Bool = false) throws -> PulsarFrame? {
        guard let totalSize = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        let total = Int(totalSize)
        guard total + 4 <= maxFrameSize else { throw PulsarFrameError.frameTooLarge(size: total + 4, limit: maxFrameSize) }
        guard total >= 4 else { throw PulsarFrameError.truncated("total size \(total) leaves no room for the command size") }
        guard buffer.readableBytes >= 4 + total else { return nil }
        buffer.moveReaderIndex(forwardBy: 4)
        var frame = buffer.readSlice(length: total)!
        return try decodeBody(&frame, total: total, requireChecksum: requireChecksum)
    }

    private static func decodeBody(_ frame: inout ByteBuffer, total: Int, requireChecksum: Bool) throws -> PulsarFrame {
        let commandSize = Int(frame.readInteger(as: UInt32.self)!)
        guard commandSize <= frame.readableBytes else {
            throw PulsarFrameError.truncated("command size \(commandSize) exceeds the \(frame.readableBytes) bytes left in a frame of \(total)")
        }
        let commandBytes = frame.readSlice(length: commandSize)!
        let command: Pulsar_Proto_BaseCommand
        do { command = try Pulsar_Proto_BaseCommand(buffer: commandBytes) } catch {
            throw PulsarFrameError.invalidCommand("\(error)")
        }
        guard frame.readableBytes > 0 else { return PulsarFrame(command: command) }

        guard var magic = frame.getInteger(at: frame.readerIndex, as: UInt16.self) else {
            throw PulsarFrameError.truncated("payload section shorter than its magic number")
        }
        if magic == PulsarFrame.brokerEntryMetadataMagic {
            // Broker entry metadata (only sent to clients that ask for it): skipped.
            frame.moveReaderIndex(forwardBy: 2)
            guard let size = frame.readInteger(as: UInt32.self), frame.readableBytes >= Int(size) else {
                throw PulsarFrameError.truncated("broker entry metadata runs past the frame")
            }
            frame.moveReaderIndex(forwardBy: Int(size))
            guard let next = frame.getInteger(at: frame.readerIndex, as: UInt16.self) else { throw PulsarFrameError.truncated("payload section ends after the broker entry metadata") }
            magic = next
        }
        if magic == PulsarFrame.magic {
            frame.moveReaderIndex(forwardBy: 2)
            guard let expected = frame.readInteger(as: UInt32.self) else { throw PulsarFrameError.truncated("payload section ends inside its checksum") }
            let actual = frame.withUnsafeReadableBytes { CRC32C.checksum($0) }
            guard actual == expected else { throw PulsarFrameError.checksumMismatch(expected: expected, actual: actual) }
        } else if requireChecksum {
            throw PulsarFrameError.invalidMagic(magic)
        }
        // Without the magic number the section carries no checksum (the protocol allows it and
        // pulsar-lite sends MESSAGE frames so); it starts with the metadata size.
        guard let metadataSize = frame.readInteger(as: UInt32.self) else { throw PulsarFrameError.truncated("payload section ends inside the metadata size") }
        guard Int(metadataSize) <= frame.readableBytes else {
            throw PulsarFrameError.truncated("metadata size \(metadataSize) exceeds the \(frame.readableBytes) bytes left in the frame")
        }
        let metadataBytes = frame.readSlice(length: Int(metadataSize))!
        let metadata: Pulsar_Proto_MessageMetadata
        do { metadata = try Pulsar_Proto_MessageMetadata(buffer: metadataBytes) } catch {
            throw PulsarFrameError.invalidMetadata("\(error)")
        }
        return PulsarFrame(command: command, payload: .init(metadata: metadata, payload: frame))
    }
}

/// Writes `PulsarFrame`s. Runs on the channel's event loop.
public struct PulsarFrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = PulsarFrame

    public init() {}

    public func encode(data frame: PulsarFrame, out: inout ByteBuffer) throws {
        try Self.encode(frame, into: &out)
    }

    /// Pure: appends the wire form of `frame` to `out`.
    public static func encode(_ frame: PulsarFrame, into out: inout ByteBuffer) throws {
        let command = try frame.command.serializedBuffer()
        let start = out.writerIndex
        out.writeInteger(UInt32(0))  // total size, patched below
        out.writeInteger(UInt32(command.count))
        out.writeBytes(command)
        if let section = frame.payload {
            let metadata = try section.metadata.serializedBuffer()
            out.writeInteger(PulsarFrame.magic)
            let checksumIndex = out.writerIndex
            out.writeInteger(UInt32(0))
            let checkedStart = out.writerIndex
            out.writeInteger(UInt32(metadata.count))
            out.writeBytes(metadata)
            var payload = section.payload
            out.writeBuffer(&payload)
            let crc = out.withUnsafeReadableBytes { raw in
                CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(checkedStart - out.readerIndex)...]))
            }
            out.setInteger(crc, at: checksumIndex)
        }
        out.setInteger(UInt32(out.writerIndex - start - 4), at: start)
    }
}
