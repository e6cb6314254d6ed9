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
        XCTAssertEqual(Array(bytes[8..<12]), [1, 0, 0, 0])
        XCTAssertEqual(littleEndian(bytes[12..<20]), UInt64(bytes.count))
        XCTAssertEqual(Array(bytes[20..<28]), [8, 7, 6, 5, 4, 3, 2, 1])
        XCTAssertEqual(littleEndian(bytes[28..<36]), 5)
        XCTAssertEqual(bytes[36], 0)
        // pipeline "p", operator count 1, then "o", "x", state [9]
        XCTAssertEqual(
            Array(bytes[37..<(bytes.count - 4)]),
            [1, 0, 0, 0, 0x70, 1, 0, 0, 0, 1, 0, 0, 0, 0x6F, 1, 0, 0, 0, 0x78, 1, 0, 0, 0, 9]
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
}
