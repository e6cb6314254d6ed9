import XCTest
@testable import CRC32C

final class CRC32CTests: XCTestCase {
    // MARK: Known vectors (RFC 3720 appendix B.4 and the common check value)

    func testCheckValue() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
    }

    func testRFC3720Vectors() {
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8($0) }), 0x46DD_794E)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8(31 - $0) }), 0x113F_DB5C)
    }

    func testEmptyInputReturnsSeed() {
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
        XCTAssertEqual(CRC32C.checksum([UInt8](), seed: 0x1234_5678), 0x1234_5678)
    }

    // MARK: Incremental use

    func testSeedChainingEqualsOneShotAtEverySplit() {
        let bytes = pseudoRandomBytes(count: 100)
        let whole = CRC32C.checksum(bytes)
        for split in 0...bytes.count {
            let first = CRC32C.checksum(bytes[..<split])
            XCTAssertEqual(CRC32C.checksum(bytes[split...], seed: first), whole, "split at \(split)")
        }
    }

    // MARK: Fast path against the bitwise definition

    func testSlicingMatchesBitwiseReferenceForAllShortLengthsAndAlignments() {
        let bytes = pseudoRandomBytes(count: 80)
        for start in 0..<8 {
            for end in start...bytes.count {
                let slice = bytes[start..<end]
                XCTAssertEqual(CRC32C.checksum(slice), bitwiseReference(slice), "bytes \(start)..<\(end)")
            }
        }
    }

    func testRawBufferAndNonContiguousCollectionsAgree() {
        let bytes = pseudoRandomBytes(count: 1000)
        let expected = CRC32C.checksum(bytes)
        XCTAssertEqual(bytes.withUnsafeBytes { CRC32C.checksum($0) }, expected)
        // A lazy map has no contiguous storage and takes the byte-at-a-time path.
        XCTAssertEqual(CRC32C.checksum(bytes.lazy.map { $0 }), expected)
        XCTAssertEqual(CRC32C.checksum(Data(bytes)), expected)
    }

    // MARK: Helpers

    private func bitwiseReference<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1
            }
        }
        return ~crc
    }

    private func pseudoRandomBytes(count: Int) -> [UInt8] {
        var state: UInt32 = 0x2545_F491
        return (0..<count).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return UInt8(truncatingIfNeeded: state >> 24)
        }
    }
}
