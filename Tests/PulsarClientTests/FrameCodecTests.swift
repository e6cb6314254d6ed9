import CRC32C
import NIOCore
@testable import PulsarClient
import XCTest

final class FrameCodecTests: XCTestCase {
    private func messageFrame(payload: String = "hello") -> PulsarFrame {
        var command = Pulsar_Proto_BaseCommand()
        command.type = .message
        var message = Pulsar_Proto_CommandMessage()
        message.consumerID = 7
        message.messageID = MessageID(ledger: 3, entry: 9).protocolData
        command.message = message
        var metadata = Pulsar_Proto_MessageMetadata()
        metadata.producerName = "p"
        metadata.sequenceID = 1
        metadata.publishTime = 1_764_100_000_000
        return PulsarFrame(command: command, payload: .init(metadata: metadata, payload: ByteBuffer(string: payload)))
    }

    private func encoded(_ frame: PulsarFrame) throws -> ByteBuffer {
        var out = ByteBuffer()
        try PulsarFrameEncoder.encode(frame, into: &out)
        return out
    }

    func testSimpleCommandRoundTrip() throws {
        var command = Pulsar_Proto_BaseCommand()
        command.type = .ping
        command.ping = Pulsar_Proto_CommandPing()
        var buffer = try encoded(PulsarFrame(command: command))
        // [total][command size][command]: total excludes itself.
        XCTAssertEqual(buffer.getInteger(at: 0, as: UInt32.self).map(Int.init), buffer.readableBytes - 4)
        let frame = try XCTUnwrap(try PulsarFrameDecoder.decodeFrame(from: &buffer))
        XCTAssertEqual(frame.command.type, .ping)
        XCTAssertNil(frame.payload)
        XCTAssertEqual(buffer.readableBytes, 0)
    }

    func testPayloadFrameRoundTripCarriesMagicAndValidChecksum() throws {
        var buffer = try encoded(messageFrame())
        let commandSize = Int(buffer.getInteger(at: 4, as: UInt32.self)!)
        let magicIndex = 8 + commandSize
        XCTAssertEqual(buffer.getInteger(at: magicIndex, as: UInt16.self), 0x0e01)
        let stored = buffer.getInteger(at: magicIndex + 2, as: UInt32.self)!
        let checked = buffer.getBytes(at: magicIndex + 6, length: buffer.readableBytes - magicIndex - 6)!
        XCTAssertEqual(stored, CRC32C.checksum(checked))
        let frame = try XCTUnwrap(try PulsarFrameDecoder.decodeFrame(from: &buffer))
        XCTAssertEqual(frame.command.message.consumerID, 7)
        XCTAssertEqual(frame.payload?.metadata.producerName, "p")
        XCTAssertEqual(frame.payload.map { String(buffer: $0.payload) }, "hello")
    }

    func testPartialFrameWaitsForMoreBytes() throws {
        let whole = try encoded(messageFrame())
        for cut in [0, 3, 4, 10, whole.readableBytes - 1] {
            var partial = whole.getSlice(at: 0, length: cut)!
            XCTAssertNil(try PulsarFrameDecoder.decodeFrame(from: &partial), "cut at \(cut)")
            XCTAssertEqual(partial.readableBytes, cut, "nothing consumed")
        }
    }

    func testWrongChecksumIsAClearError() throws {
        var buffer = try encoded(messageFrame())
        let last = buffer.writerIndex - 1
        buffer.setInteger(buffer.getInteger(at: last, as: UInt8.self)! ^ 0x01, at: last)
        XCTAssertThrowsError(try PulsarFrameDecoder.decodeFrame(from: &buffer)) { error in
            guard case PulsarFrameError.checksumMismatch = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("checksum mismatch"), "\(error)")
        }
    }

    func testOversizedFrameIsRejectedBeforeItArrives() throws {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(6 * 1024 * 1024))
        XCTAssertThrowsError(try PulsarFrameDecoder.decodeFrame(from: &buffer)) { error in
            XCTAssertEqual(error as? PulsarFrameError, .frameTooLarge(size: 6 * 1024 * 1024 + 4, limit: PulsarFrame.defaultMaxFrameSize))
        }
        var small = try encoded(messageFrame(payload: String(repeating: "x", count: 2000)))
        XCTAssertThrowsError(try PulsarFrameDecoder.decodeFrame(from: &small, maxFrameSize: 1024)) { error in
            guard case PulsarFrameError.frameTooLarge(_, 1024) = error else { return XCTFail("\(error)") }
        }
    }

    func testInconsistentSizesAreTruncationErrors() throws {
        // Command size larger than the frame.
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(8))
        buffer.writeInteger(UInt32(100))
        buffer.writeInteger(UInt32(0))
        XCTAssertThrowsError(try PulsarFrameDecoder.decodeFrame(from: &buffer)) { error in
            guard case PulsarFrameError.truncated(let why) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(why.contains("command size 100"), why)
        }
        // Metadata size running past the frame (with a checksum that matches the bytes).
        var frame = try encoded(messageFrame())
        let commandSize = Int(frame.getInteger(at: 4, as: UInt32.self)!)
        let metadataSizeIndex = 8 + commandSize + 6
        frame.setInteger(UInt32(10_000), at: metadataSizeIndex)
        let checked = frame.getBytes(at: metadataSizeIndex, length: frame.readableBytes - metadataSizeIndex)!
        frame.setInteger(CRC32C.checksum(checked), at: metadataSizeIndex - 4)
        XCTAssertThrowsError(try PulsarFrameDecoder.decodeFrame(from: &frame)) { error in
            guard case PulsarFrameError.truncated(let why) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(why.contains("metadata size 10000"), why)
        }
    }

    func testPayloadSectionWithoutChecksumIsAccepted() throws {
        // [total][command size][command][metadata size][metadata][payload]: no magic, no CRC.
        let withChecksum = try encoded(messageFrame(payload: "plain"))
        let commandSize = Int(withChecksum.getInteger(at: 4, as: UInt32.self)!)
        var frame = ByteBuffer()
        frame.writeInteger(UInt32(0))
        frame.writeBytes(withChecksum.getBytes(at: 4, length: 4 + commandSize)!)
        frame.writeBytes(withChecksum.getBytes(at: 8 + commandSize + 6, length: withChecksum.readableBytes - 8 - commandSize - 6)!)
        frame.setInteger(UInt32(frame.readableBytes - 4), at: 0)
        let decoded = try XCTUnwrap(try PulsarFrameDecoder.decodeFrame(from: &frame))
        XCTAssertEqual(decoded.payload.map { String(buffer: $0.payload) }, "plain")
        XCTAssertEqual(decoded.payload?.metadata.producerName, "p")
    }

    func testWrongMagicAndGarbageCommandAreErrors() throws {
        var frame = try encoded(messageFrame())
        let commandSize = Int(frame.getInteger(at: 4, as: UInt32.self)!)
        frame.setInteger(UInt16(0xBEEF), at: 8 + commandSize)
        XCTAssertThrowsError(try PulsarFrameDecoder.decodeFrame(from: &frame, requireChecksum: true)) { error in
            XCTAssertEqual(error as? PulsarFrameError, .invalidMagic(0xBEEF))
        }
        var garbage = ByteBuffer()
        garbage.writeInteger(UInt32(8))
        garbage.writeInteger(UInt32(4))
        garbage.writeBytes([0xFF, 0xFF, 0xFF, 0xFF])
        XCTAssertThrowsError(try PulsarFrameDecoder.decodeFrame(from: &garbage)) { error in
            guard case PulsarFrameError.invalidCommand = error else { return XCTFail("\(error)") }
        }
    }

    func testTruncatedFrameAtEndOfStreamIsAnError() throws {
        var whole = try encoded(messageFrame())
        var half = whole.readSlice(length: whole.readableBytes / 2)!
        XCTAssertNil(try PulsarFrameDecoder.decodeFrame(from: &half))
        XCTAssertThrowsError(try PulsarFrameDecoder.checkNothingLeft(&half)) { error in
            guard case PulsarFrameError.truncated(let why) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(why.contains("connection ended"), why)
        }
        var empty = ByteBuffer()
        XCTAssertNoThrow(try PulsarFrameDecoder.checkNothingLeft(&empty))
    }

    func testFramesFedByteByByteAreSplitCorrectly() throws {
        var stream = ByteBuffer()
        for i in 0..<3 { try PulsarFrameEncoder.encode(messageFrame(payload: "m\(i)"), into: &stream) }
        var received = ByteBuffer()
        var frames: [PulsarFrame] = []
        while let byte = stream.readSlice(length: 1) {
            var b = byte
            received.writeBuffer(&b)
            while let frame = try PulsarFrameDecoder.decodeFrame(from: &received) { frames.append(frame) }
        }
        XCTAssertEqual(frames.map { $0.payload.map { String(buffer: $0.payload) } }, ["m0", "m1", "m2"])
        XCTAssertEqual(received.readableBytes, 0)
    }
}
