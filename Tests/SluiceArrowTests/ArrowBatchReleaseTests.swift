import XCTest
import PluginABI
@testable import SluiceArrow

final class ArrowBatchReleaseTests: XCTestCase {
    override func setUp() {
        schemaReleaseCalls = 0
        arrayReleaseCalls = 0
    }

    private func smallBatch(_ values: [Int64] = [1, 2, 3]) -> ArrowBatch {
        let v = ArrowColumnBuilder(name: "v", format: .int64)
        let s = ArrowColumnBuilder(name: "s", format: .utf8)
        for x in values { v.append(x); s.append("v\(x)") }
        return ArrowBatchBuilder(columns: [v, s]).finish()
    }

    /// A hand-built live batch whose release callbacks count their calls.
    private func countingBatch() -> HandMadeBatch {
        let hand = HandMadeBatch(columns: [.init(name: "a", format: "i")])
        hand.schema.pointee.release = countingReleaseSchema
        hand.array.pointee.release = countingReleaseArray
        return hand
    }

    func testNewBatchIsNotLive() {
        let batch = ArrowBatch()
        XCTAssertFalse(batch.isLive)
        XCTAssertEqual(batch.length, 0)
        XCTAssertNil(batch.schema.pointee.release)
        XCTAssertNil(batch.array.pointee.release)
        XCTAssertThrowsError(try batch.view())
        batch.release()  // harmless
    }

    func testReleaseMarksBothStructsReleased() {
        let batch = smallBatch()
        XCTAssertTrue(batch.isLive)
        XCTAssertEqual(batch.length, 3)
        batch.release()
        XCTAssertFalse(batch.isLive)
        XCTAssertNil(batch.schema.pointee.release)
        XCTAssertNil(batch.array.pointee.release)
        XCTAssertEqual(batch.length, 0)
        batch.release()  // a second release is safe
        XCTAssertFalse(batch.isLive)
        assertArrowFormatError(["released"]) { _ = try batch.view() }
    }

    func testReleaseCallsEachCallbackExactlyOnce() {
        let hand = countingBatch()
        do {
            let batch = ArrowBatch(movingFrom: hand.schema, array: hand.array)
            XCTAssertTrue(batch.isLive)
            XCTAssertEqual(schemaReleaseCalls, 0)
            XCTAssertEqual(arrayReleaseCalls, 0)
            batch.release()
            XCTAssertEqual(schemaReleaseCalls, 1)
            XCTAssertEqual(arrayReleaseCalls, 1)
            // The counting callbacks do not clear `release`; the batch must do it itself.
            XCTAssertNil(batch.schema.pointee.release)
            XCTAssertNil(batch.array.pointee.release)
            XCTAssertFalse(batch.isLive)
            batch.release()
        }
        // Deinit after an explicit release calls nothing again.
        XCTAssertEqual(schemaReleaseCalls, 1)
        XCTAssertEqual(arrayReleaseCalls, 1)
    }

    func testDeinitReleasesALiveBatchOnce() {
        let hand = countingBatch()
        do {
            let batch = ArrowBatch(movingFrom: hand.schema, array: hand.array)
            XCTAssertTrue(batch.isLive)
        }
        XCTAssertEqual(schemaReleaseCalls, 1)
        XCTAssertEqual(arrayReleaseCalls, 1)
    }

    func testMovingFromLeavesSourceReleased() throws {
        let source = smallBatch([7, 8])
        let schema = UnsafeMutablePointer<ArrowSchema>.allocate(capacity: 1)
        let array = UnsafeMutablePointer<ArrowArray>.allocate(capacity: 1)
        defer { schema.deallocate(); array.deallocate() }
        source.move(toSchema: schema, array: array)
        XCTAssertNotNil(schema.pointee.release)
        XCTAssertNotNil(array.pointee.release)

        let batch = ArrowBatch(movingFrom: schema, array: array)
        defer { keepAlive(batch) }
        XCTAssertNil(schema.pointee.release, "the source schema must be marked released")
        XCTAssertNil(array.pointee.release, "the source array must be marked released")
        XCTAssertTrue(batch.isLive)
        let view = try batch.view()
        XCTAssertEqual(view.length, 2)
        XCTAssertEqual(view.columns[0].int64(1), 8)
        XCTAssertEqual(view.columns[1].string(0), "v7")
        assertArrowFormatError(["released"]) { _ = try ArrowBatchView(schema: schema, array: array) }
    }

    func testMoveLeavesBatchNotLiveAndDestinationUsable() throws {
        let batch = smallBatch([4, 5, 6])
        let schema = UnsafeMutablePointer<ArrowSchema>.allocate(capacity: 1)
        let array = UnsafeMutablePointer<ArrowArray>.allocate(capacity: 1)
        defer { schema.deallocate(); array.deallocate() }
        batch.move(toSchema: schema, array: array)
        XCTAssertFalse(batch.isLive)
        XCTAssertEqual(batch.length, 0)
        XCTAssertNil(batch.schema.pointee.release)
        XCTAssertNil(batch.array.pointee.release)
        XCTAssertThrowsError(try batch.view())
        batch.release()  // must not release what was moved away

        let view = try ArrowBatchView(schema: schema, array: array)
        XCTAssertEqual(view.length, 3)
        XCTAssertEqual((0..<3).map { view.columns[0].int64($0) }, [4, 5, 6])
        XCTAssertEqual((0..<3).map { view.columns[1].string($0) }, ["v4", "v5", "v6"])
        // The consumer now owns the structs and releases them through their callbacks.
        array.pointee.release!(array)
        schema.pointee.release!(schema)
        XCTAssertNil(array.pointee.release)
        XCTAssertNil(schema.pointee.release)
    }

    func testMoveOfCountingBatchTransfersTheCallbacks() {
        let hand = countingBatch()
        let batch = ArrowBatch(movingFrom: hand.schema, array: hand.array)
        let schema = UnsafeMutablePointer<ArrowSchema>.allocate(capacity: 1)
        let array = UnsafeMutablePointer<ArrowArray>.allocate(capacity: 1)
        defer { schema.deallocate(); array.deallocate() }
        batch.move(toSchema: schema, array: array)
        batch.release()
        XCTAssertEqual(schemaReleaseCalls, 0, "a moved batch must not call the producer's release")
        XCTAssertEqual(arrayReleaseCalls, 0)
        let again = ArrowBatch(movingFrom: schema, array: array)
        again.release()
        XCTAssertEqual(schemaReleaseCalls, 1)
        XCTAssertEqual(arrayReleaseCalls, 1)
    }

    func testChildrenOfExportedBatchAreReleasedWithIt() {
        let batch = smallBatch()
        let childSchemas = (0..<2).map { batch.schema.pointee.children![$0]! }
        let childArrays = (0..<2).map { batch.array.pointee.children![$0]! }
        XCTAssertTrue(childSchemas.allSatisfy { $0.pointee.release != nil })
        XCTAssertTrue(childArrays.allSatisfy { $0.pointee.release != nil })
        // Children belong to the parent: releasing the parent frees them (not inspected
        // afterwards, as their memory is gone); a consumer may also release a child early.
        childArrays[1].pointee.release!(childArrays[1])
        XCTAssertNil(childArrays[1].pointee.release)
        batch.release()
        XCTAssertFalse(batch.isLive)
    }

    func testExportingAndReleasingTenThousandBatches() throws {
        let id = ArrowColumnBuilder(name: "id", format: .int64)
        let name = ArrowColumnBuilder(name: "name", format: .utf8)
        let ok = ArrowColumnBuilder(name: "ok", format: .boolean)
        let builder = ArrowBatchBuilder(columns: [id, name, ok])
        let schema = UnsafeMutablePointer<ArrowSchema>.allocate(capacity: 1)
        let array = UnsafeMutablePointer<ArrowArray>.allocate(capacity: 1)
        defer { schema.deallocate(); array.deallocate() }
        for i in 0..<10_000 {
            for j in 0..<(i % 17) {
                id.append(Int64(i * 100 + j))
                if j % 5 == 4 { name.appendNull() } else { name.append("row-\(j)") }
                ok.append(j % 2 == 0)
            }
            if i % 2 == 0 {
                let batch = builder.finish()
                XCTAssertTrue(batch.isLive)
                XCTAssertEqual(batch.length, i % 17)
                if i % 1000 == 0 {
                    let view = try batch.view()
                    XCTAssertEqual(view.length, i % 17)
                    if view.length > 0 { XCTAssertEqual(view.columns[0].int64(0), Int64(i * 100)) }
                }
                batch.release()
                XCTAssertFalse(batch.isLive)
            } else {
                // Export into raw structs and release through the callbacks, as a consumer would.
                builder.export(schema: schema, array: array)
                XCTAssertEqual(array.pointee.length, Int64(i % 17))
                array.pointee.release!(array)
                schema.pointee.release!(schema)
                XCTAssertNil(array.pointee.release)
                XCTAssertNil(schema.pointee.release)
            }
        }
    }
}
