import Glibc
import XCTest
import PluginABI
@testable import SluiceArrow

// Release callbacks for hand-built structs: they own nothing, so releasing only marks them released.
func noopReleaseSchema(_ schema: UnsafeMutablePointer<ArrowSchema>?) { schema?.pointee.release = nil }
func noopReleaseArray(_ array: UnsafeMutablePointer<ArrowArray>?) { array?.pointee.release = nil }

// Counting callbacks; they deliberately do NOT set `release = nil`, so the tests see whether
// ArrowBatch marks the structs released itself and never calls a callback twice.
nonisolated(unsafe) var schemaReleaseCalls = 0
nonisolated(unsafe) var arrayReleaseCalls = 0
func countingReleaseSchema(_ schema: UnsafeMutablePointer<ArrowSchema>?) { schemaReleaseCalls += 1 }
func countingReleaseArray(_ array: UnsafeMutablePointer<ArrowArray>?) { arrayReleaseCalls += 1 }

/// A batch built field by field, to feed ArrowBatchView structs no builder would produce.
/// Owns all its memory; the structs' release callbacks own nothing.
final class HandMadeBatch {
    struct Column {
        var name: String
        var format: String
        var length: Int64 = 3
        var nBuffers: Int64 = 2
        var hasValues = true
    }

    let schema = UnsafeMutablePointer<ArrowSchema>.allocate(capacity: 1)
    let array = UnsafeMutablePointer<ArrowArray>.allocate(capacity: 1)
    private var strings: [UnsafeMutablePointer<CChar>] = []
    private var schemaChildren: [UnsafeMutablePointer<ArrowSchema>] = []
    private var arrayChildren: [UnsafeMutablePointer<ArrowArray>] = []
    private let schemaChildList: UnsafeMutablePointer<UnsafeMutablePointer<ArrowSchema>?>
    private let arrayChildList: UnsafeMutablePointer<UnsafeMutablePointer<ArrowArray>?>
    private var bufferLists: [UnsafeMutablePointer<UnsafeRawPointer?>] = []
    /// Zeroed memory every buffer points into: valid for any format at a few rows.
    private let zeros = calloc(1, 4096)!

    init(topFormat: String = "+s", length: Int64 = 3, columns: [Column], arrayChildCount: Int? = nil,
         schemaReleased: Bool = false, arrayReleased: Bool = false) {
        let nArrayChildren = arrayChildCount ?? columns.count
        schemaChildList = .allocate(capacity: max(1, columns.count))
        arrayChildList = .allocate(capacity: max(1, nArrayChildren))
        for (i, column) in columns.enumerated() {
            let s = UnsafeMutablePointer<ArrowSchema>.allocate(capacity: 1)
            s.initialize(to: ArrowSchema(format: UnsafePointer(cString(column.format)), name: UnsafePointer(cString(column.name)),
                                         metadata: nil, flags: Int64(ARROW_FLAG_NULLABLE), n_children: 0, children: nil,
                                         dictionary: nil, release: noopReleaseSchema, private_data: nil))
            schemaChildren.append(s)
            schemaChildList[i] = s
        }
        for i in 0..<nArrayChildren {
            let column = i < columns.count ? columns[i] : Column(name: "extra", format: "i")
            let buffers = UnsafeMutablePointer<UnsafeRawPointer?>.allocate(capacity: 3)
            buffers[0] = nil
            buffers[1] = column.hasValues ? UnsafeRawPointer(zeros) : nil
            buffers[2] = UnsafeRawPointer(zeros)
            bufferLists.append(buffers)
            let a = UnsafeMutablePointer<ArrowArray>.allocate(capacity: 1)
            a.initialize(to: ArrowArray(length: column.length, null_count: 0, offset: 0, n_buffers: column.nBuffers,
                                        n_children: 0, buffers: buffers, children: nil, dictionary: nil,
                                        release: noopReleaseArray, private_data: nil))
            arrayChildren.append(a)
            arrayChildList[i] = a
        }
        schema.initialize(to: ArrowSchema(format: UnsafePointer(cString(topFormat)), name: UnsafePointer(cString("")),
                                          metadata: nil, flags: 0, n_children: Int64(columns.count),
                                          children: schemaChildList, dictionary: nil,
                                          release: schemaReleased ? nil : noopReleaseSchema, private_data: nil))
        let topBuffers = UnsafeMutablePointer<UnsafeRawPointer?>.allocate(capacity: 1)
        topBuffers[0] = nil
        bufferLists.append(topBuffers)
        array.initialize(to: ArrowArray(length: length, null_count: 0, offset: 0, n_buffers: 1,
                                        n_children: Int64(nArrayChildren), buffers: topBuffers, children: arrayChildList,
                                        dictionary: nil, release: arrayReleased ? nil : noopReleaseArray, private_data: nil))
    }

    private func cString(_ s: String) -> UnsafeMutablePointer<CChar> {
        let p = strdup(s)!
        strings.append(p)
        return p
    }

    deinit {
        strings.forEach { free($0) }
        schemaChildren.forEach { $0.deallocate() }
        arrayChildren.forEach { $0.deallocate() }
        bufferLists.forEach { $0.deallocate() }
        schemaChildList.deallocate()
        arrayChildList.deallocate()
        schema.deallocate()
        array.deallocate()
        free(zeros)
    }
}

/// Asserts that `body` throws an ArrowFormatError whose message contains every fragment.
func assertArrowFormatError(_ fragments: [String], file: StaticString = #filePath, line: UInt = #line,
                            _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("expected an ArrowFormatError containing \(fragments)", file: file, line: line)
    } catch let error as ArrowFormatError {
        for fragment in fragments {
            XCTAssertTrue(error.description.contains(fragment), "'\(error.description)' lacks '\(fragment)'", file: file, line: line)
        }
    } catch {
        XCTFail("expected an ArrowFormatError, got \(error)", file: file, line: line)
    }
}

extension ArrowBatch {
    /// The exported child array of column `i`.
    func childArray(_ i: Int) -> ArrowArray { array.pointee.children![i]!.pointee }
    func childSchema(_ i: Int) -> ArrowSchema { schema.pointee.children![i]!.pointee }
}

/// A view borrows the batch's memory and Swift may free an object right after its last use,
/// so tests that read a view of a batch they no longer mention keep the batch alive with this.
func keepAlive(_ objects: AnyObject...) { withExtendedLifetime(objects) {} }

/// Reads bit `i` of an Arrow bitmap.
func bit(_ bitmap: UnsafeRawPointer, _ i: Int) -> Bool {
    bitmap.load(fromByteOffset: i >> 3, as: UInt8.self) & (1 << UInt8(i & 7)) != 0
}
