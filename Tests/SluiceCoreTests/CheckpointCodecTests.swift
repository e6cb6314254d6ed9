import CRC32C
import XCTest
@testable import SluiceCore

final class CheckpointCodecTests: XCTestCase {
    // MARK: Round trips

    func testRoundTripWithEmptyStates() throws {
        let manifest = CheckpointManifest(
            id: 7,
            pipeline: "orders",
            kind: .checkpoint,
            createdAtMilliseconds: 1_700_000_000_123,
            operators: [
                OperatorSnapshot(operatorName: "source", plugin: "kafka", state: []),
                OperatorSnapshot(operatorName: "sink", plugin: "file", state: []),
            ]
        )
        XCTAssertEqual(try CheckpointCodec.decode(CheckpointCodec.encode(manifest)), manifest)
        XCTAssertEqual(manifest.totalStateBytes, 0)
    }

    func testRoundTripWithoutOperators() throws {
        let manifest = CheckpointManifest(id: 0, pipeline: "", kind: .checkpoint, createdAtMilliseconds: 0, operators: [])
        XCTAssertEqual(try CheckpointCodec.decode(CheckpointCodec.encode(manifest)), manifest)
    }

    func testRoundTripWithOneMegabyteState() throws {
        let big = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ ($0 >> 8)) }
        let manifest = CheckpointManifest(
            id: UInt64.max,
            pipeline: "big",
            kind: .checkpoint,
            createdAtMilliseconds: -1,
            operators: [
                OperatorSnapshot(operatorName: "window", plugin: "aggregate", state: big),
                OperatorSnapshot(operatorName: "tail", plugin: "aggregate", state: [1, 2, 3]),
            ]
        )
        let encoded = CheckpointCodec.encode(manifest)
        XCTAssertEqual(try CheckpointCodec.decode(encoded), manifest)
        XCTAssertEqual(manifest.totalStateBytes, (1 << 20) + 3)
    }

    func testRoundTripWithUnicodeNamesAndSavepointKind() throws {
        let manifest = CheckpointManifest(
            id: 42,
            pipeline: "Bestellungen-Überblick 📦",
            kind: .savepoint(name: "vor-dem-Update_2024.1"),
            createdAtMilliseconds: Int64.min,
            operators: [OperatorSnapshot(operatorName: "集計", plugin: "plugin-é", state: [0, 255, 0])]
        )
        XCTAssertEqual(try CheckpointCodec.decode(CheckpointCodec.encode(manifest)), manifest)
    }

    // MARK: Documented layout

    func testHeaderAndTrailerFollowTheDocumentedLayout() {
        let manifest = CheckpointManifest(
            id: 0x0102_0304_0506_0708,
            pipeline: "p",
            kind: .checkpoint,
            createdAtMilliseconds: 5,
            operators: [OperatorSnapshot(operatorName: "o", plugin: "x", state: [9])]
        )
        let bytes = CheckpointCodec.encode(manifest)
        XCTAssertEqual(Array(bytes[0..<8]), Array("SLUICECK".utf8))
        XCTAssertEqual(Array(bytes[8..<12]), [2, 0, 0, 0])
        XCTAssertEqual(littleEndian(bytes[12..<20]), UInt64(bytes.count))
        XCTAssertEqual(Array(bytes[20..<28]), [8, 7, 6, 5, 4, 3, 2, 1])
        XCTAssertEqual(littleEndian(bytes[28..<36]), 5)
        XCTAssertEqual(bytes[36], 0)
        // pipeline "p", operator count 1, then "o", "x", state [9]; then the layout: instance 0
        // of 1, parallelism 1, no flags
        XCTAssertEqual(
            Array(bytes[37..<(bytes.count - 4)]),
            [1, 0, 0, 0, 0x70, 1, 0, 0, 0, 1, 0, 0, 0, 0x6F, 1, 0, 0, 0, 0x78, 1, 0, 0, 0, 9,
             0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]
        )
        XCTAssertEqual(littleEndian(bytes[(bytes.count - 4)...]), UInt64(CRC32C.checksum(bytes.dropLast(4))))
    }

    func testSavepointNameFollowsTheKindByte() {
        let manifest = CheckpointManifest(id: 1, pipeline: "", kind: .savepoint(name: "sp"), createdAtMilliseconds: 0, operators: [])
        let bytes = CheckpointCodec.encode(manifest)
        XCTAssertEqual(Array(bytes[36..<43]), [1, 2, 0, 0, 0, 0x73, 0x70])
    }

    // MARK: Helpers

    private func littleEndian(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    // MARK: Layout (version 2)

    func testTheLayoutAndTheCommittedFlagRoundTrip() throws {
        let manifest = CheckpointManifest(id: 7, pipeline: "p", kind: .savepoint(name: "rescale"), createdAtMilliseconds: 1,
                                          operators: [OperatorSnapshot(operatorName: "source@5", plugin: "x", state: [1])],
                                          layout: PipelineLayout(instance: 2, instances: 3, parallelism: 2), epochsCommitted: true)
        XCTAssertEqual(try CheckpointCodec.decode(CheckpointCodec.encode(manifest)), manifest)
    }

    /// A file of format 1 (written before lanes) reads as one instance with one lane, not
    /// committed.
    func testAVersionOneFileReadsAsASingleLane() throws {
        let manifest = CheckpointManifest(id: 3, pipeline: "p", kind: .checkpoint, createdAtMilliseconds: 1,
                                          operators: [OperatorSnapshot(operatorName: "source", plugin: "x", state: [4, 2])])
        var bytes = Array(CheckpointCodec.encode(manifest).dropLast(4 + 13))
        bytes[8] = 1
        let length = UInt64(bytes.count + 4)
        for i in 0..<8 { bytes[12 + i] = UInt8((length >> (8 * UInt64(i))) & 0xFF) }
        let crc = CRC32C.checksum(bytes)
        bytes += (0..<4).map { UInt8((crc >> (8 * UInt32($0))) & 0xFF) }
        let decoded = try CheckpointCodec.decode(bytes)
        XCTAssertEqual(decoded, manifest)
        XCTAssertEqual(decoded.layout, .single)
        XCTAssertFalse(decoded.epochsCommitted)
    }

    func testAnImpossibleLayoutIsMalformed() {
        var bytes = CheckpointCodec.encode(CheckpointManifest(id: 1, pipeline: "p", kind: .checkpoint, createdAtMilliseconds: 0, operators: []))
        // instance (4 bytes), instance count (4), parallelism (4), flags (1), CRC (4): make the
        // instance 5 of 1, then fix the CRC.
        bytes[bytes.count - 17] = 5
        let crc = CRC32C.checksum(bytes.dropLast(4))
        for i in 0..<4 { bytes[bytes.count - 4 + i] = UInt8((crc >> (8 * UInt32(i))) & 0xFF) }
        XCTAssertThrowsError(try CheckpointCodec.decode(bytes)) { error in
            guard case .malformed(let why) = error as? CheckpointFormatError else { return XCTFail("\(error)") }
            XCTAssertTrue(why.contains("instance 5 of 1"), why)
        }
    }
}
