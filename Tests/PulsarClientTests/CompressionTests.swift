import NIOCore
@testable import PulsarClient
import XCTest

final class CompressionTests: XCTestCase {
    func testEveryCodecRoundTrips() throws {
        let text = String(repeating: "{\"sensor_id\":\"sensor-0042\",\"temperature\":21.5}\n", count: 200)
        let input = ByteBuffer(string: text)
        for codec in CompressionCodec.allCases {
            let compressed = try codec.compress(input)
            if codec != .none { XCTAssertLessThan(compressed.readableBytes, input.readableBytes, "\(codec)") }
            let back = try codec.decompress(compressed, uncompressedSize: input.readableBytes)
            XCTAssertEqual(String(buffer: back), text, "\(codec)")
        }
    }

    func testCorruptOrMislabelledInputIsAnErrorNotACrash() throws {
        let input = ByteBuffer(string: String(repeating: "abcdef", count: 100))
        for codec in CompressionCodec.allCases where codec != .none {
            let compressed = try codec.compress(input)
            XCTAssertThrowsError(try codec.decompress(compressed, uncompressedSize: input.readableBytes + 7), "\(codec) wrong size")
            var garbage = ByteBuffer()
            garbage.writeBytes((0..<64).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) })
            XCTAssertThrowsError(try codec.decompress(garbage, uncompressedSize: 600), "\(codec) garbage")
        }
        XCTAssertThrowsError(try CompressionCodec.zstd.decompress(input, uncompressedSize: 1 << 30, limit: 1 << 20))
    }
}
