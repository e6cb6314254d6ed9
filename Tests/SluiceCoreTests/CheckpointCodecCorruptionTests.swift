import CRC32C
import XCTest
@testable import SluiceCore

final class CheckpointCodecCorruptionTests: XCTestCase {
    private let sample = CheckpointManifest(
        id: 3,
        pipeline: "clicks",
        kind: .savepoint(name: "before-upgrade"),
        createdAtMilliseconds: 1_700_000_000_000,
        operators: [
            OperatorSnapshot(operatorName: "source", plugin: "kafka", state: [1, 2, 3, 4, 5]),
            OperatorSnapshot(operatorName: "sink", plugin: "file", state: []),
        ]
    )

    // MARK: Torn files

    func testEveryTruncationIsReportedAsTruncated() {
        let bytes = CheckpointCodec.encode(sample)
        for length in 0..<bytes.count {
            XCTAssertThrowsError(try CheckpointCodec.decode(Array(bytes[..<length])), "length \(length)") { error in
                let expected = length < CheckpointCodec.headerSize ? CheckpointCodec.headerSize : bytes.count
                XCTAssertEqual(error as? CheckpointFormatError, .truncated(expected: expected, actual: length), "length \(length)")
            }
        }
    }

    // MARK: Flipped bytes

    func testEverySingleByteCorruptionIsDetected() {
        let bytes = CheckpointCodec.encode(sample)
        for offset in bytes.indices {
            for mask: UInt8 in [0x01, 0x80, 0xFF] {
                var corrupted = bytes
                corrupted[offset] ^= mask
                XCTAssertThrowsError(try CheckpointCodec.decode(corrupted), "offset \(offset) mask \(mask)")
            }
        }
    }

    func testFlippedBodyByteIsAChecksumMismatch() {
        var bytes = CheckpointCodec.encode(sample)
        bytes[40] ^= 0x10
        XCTAssertThrowsError(try CheckpointCodec.decode(bytes)) { error in
            guard case .checksumMismatch = error as? CheckpointFormatError else {
                return XCTFail("expected checksumMismatch, got \(error)")
            }
        }
    }

    // MARK: Framing errors

    func testWrongMagicVersionAndTrailingBytes() {
        let bytes = CheckpointCodec.encode(sample)
        XCTAssertThrowsError(try CheckpointCodec.decode(Array("NOTACKPT".utf8) + bytes.dropFirst(8))) {
            XCTAssertEqual($0 as? CheckpointFormatError, .badMagic)
        }
        XCTAssertThrowsError(try CheckpointCodec.decode(Array("PK".utf8))) {
            XCTAssertEqual($0 as? CheckpointFormatError, .badMagic)
        }
        var future = bytes
        future[8] = 3
        XCTAssertThrowsError(try CheckpointCodec.decode(future)) {
            XCTAssertEqual($0 as? CheckpointFormatError, .unsupportedVersion(3))
        }
        XCTAssertThrowsError(try CheckpointCodec.decode(bytes + [0])) { error in
            guard case .malformed = error as? CheckpointFormatError else {
                return XCTFail("expected malformed, got \(error)")
            }
        }
    }

    func testErrorDescriptionsAreReadable() {
        XCTAssertEqual(
            CheckpointFormatError.checksumMismatch(stored: 0xAB, computed: 0xE306_9283).description,
            "checkpoint file is corrupt: stored CRC32C 0x000000ab but content hashes to 0xe3069283"
        )
        XCTAssertTrue(CheckpointFormatError.truncated(expected: 100, actual: 7).description.contains("expected 100 bytes, found 7"))
    }

    // MARK: Inconsistent bodies behind a valid checksum

    func testForgedLengthsAndCountsAreRejectedWithoutCrashing() {
        // id, time, kind checkpoint, empty pipeline, then a huge operator count.
        let hugeCount = Array(repeating: UInt8(0), count: 17) + [0, 0, 0, 0] + [0xFF, 0xFF, 0xFF, 0xFF]
        assertMalformed(frame(hugeCount))
        // Pipeline name claiming 4 GiB.
        let hugeString = Array(repeating: UInt8(0), count: 17) + [0xFF, 0xFF, 0xFF, 0xFF] + [0, 0, 0, 0]
        assertMalformed(frame(hugeString))
        // Unknown kind byte.
        assertMalformed(frame(Array(repeating: 0, count: 16) + [7, 0, 0, 0, 0, 0, 0, 0, 0]))
        // Pipeline name that is not UTF-8.
        assertMalformed(frame(Array(repeating: 0, count: 17) + [2, 0, 0, 0, 0xC3, 0x28, 0, 0, 0, 0]))
        // A body shorter than the minimum the recorded length must cover.
        assertMalformed(frame([]))
    }

    // MARK: Fuzzing

    func testRandomGarbageNeverCrashes() {
        var generator = SplitMix64(seed: 0x5EED)
        for _ in 0..<1000 {
            let count = Int(generator.next() % 512)
            let garbage = (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            XCTAssertThrowsError(try CheckpointCodec.decode(garbage))
        }
    }

    func testRandomBodiesBehindValidFramingNeverCrash() {
        var generator = SplitMix64(seed: 0xF00D)
        for _ in 0..<1000 {
            let count = Int(generator.next() % 96)
            // Small values make plausible lengths and counts likely, so the parser goes deep.
            let body = (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next() % 5) }
            _ = try? CheckpointCodec.decode(frame(body))
        }
    }

    func testMutatedBodiesWithRecomputedChecksumNeverCrash() {
        let body = Array(CheckpointCodec.encode(sample).dropFirst(CheckpointCodec.headerSize).dropLast(4))
        var generator = SplitMix64(seed: 0xBEEF)
        for _ in 0..<1000 {
            var mutated = body
            for _ in 0..<(1 + Int(generator.next() % 4)) {
                mutated[Int(generator.next() % UInt64(mutated.count))] = UInt8(truncatingIfNeeded: generator.next())
            }
            _ = try? CheckpointCodec.decode(frame(mutated))
        }
    }

    // MARK: Helpers

    /// Wraps `body` in a correct header, length and checksum.
    private func frame(_ body: [UInt8]) -> [UInt8] {
        let total = UInt64(CheckpointCodec.headerSize + body.count + 4)
        var bytes = Array("SLUICECK".utf8) + [1, 0, 0, 0]
        bytes += (0..<8).map { UInt8(truncatingIfNeeded: total >> UInt64($0 * 8)) }
        bytes += body
        let crc = CRC32C.checksum(bytes)
        return bytes + (0..<4).map { UInt8(truncatingIfNeeded: crc >> UInt32($0 * 8)) }
    }

    private func assertMalformed(_ bytes: [UInt8], line: UInt = #line) {
        XCTAssertThrowsError(try CheckpointCodec.decode(bytes), line: line) { error in
            guard case .malformed = error as? CheckpointFormatError else {
                return XCTFail("expected malformed, got \(error)", line: line)
            }
        }
    }
}

/// Deterministic generator so a failing fuzz case reproduces.
private struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
