import Foundation
import XCTest
import SluiceCore
@testable import SluiceRuntime

/// A sink swap loads the new `.so` from a fresh copy, so a rebuilt file at a path loaded before
/// brings its new code. The copy must not outlive the load: a worker swapping sinks for weeks,
/// or restarted by its supervisor many times, would otherwise fill the disk.
final class PluginLoaderFreshCopyTests: XCTestCase {
    /// Every file under the temporary folder, at any depth, named after the plugin's file.
    private func copiesInTemporaryDirectory(of name: String = "libSluiceFileSink.so") throws -> [String] {
        let root = NSTemporaryDirectory()
        return (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? []).filter { $0.hasSuffix(name) }.sorted()
    }

    func testAFreshCopyIsLoadedAndItsFileRemoved() throws {
        let original = BuiltProducts.directory + "/libSluiceFileSink.so"
        let before = try copiesInTemporaryDirectory()
        let plain = try PluginLoader.load(original)
        let first = try PluginLoader.load(original, freshCopy: true)
        let second = try PluginLoader.load(original, freshCopy: true)

        XCTAssertEqual(Set([plain.name, first.name, second.name]), ["file-sink"])
        XCTAssertEqual(first.originalPath, original, "errors and status name the file the user gave")
        // Each copy is its own image: its descriptor lives at its own address.
        XCTAssertNotEqual(plain.descriptor, first.descriptor)
        XCTAssertNotEqual(first.descriptor, second.descriptor)
        XCTAssertEqual(try copiesInTemporaryDirectory(), before, "the copies are removed once mapped")
    }

    func testAFreshCopyThatIsNotASharedObjectLeavesNothingBehind() throws {
        let notAPlugin = NSTemporaryDirectory() + "sluice-loader-\(UUID().uuidString.prefix(8)).so"
        try "not an ELF file".write(toFile: notAPlugin, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: notAPlugin) }
        let before = try copiesInTemporaryDirectory(of: (notAPlugin as NSString).lastPathComponent)
        XCTAssertThrowsError(try PluginLoader.load(notAPlugin, freshCopy: true)) { error in
            XCTAssertTrue("\(error)".contains("is not a shared object"), "\(error)")
        }
        XCTAssertEqual(try copiesInTemporaryDirectory(of: (notAPlugin as NSString).lastPathComponent), before)
    }
}
