import Foundation
import XCTest
@testable import SluiceCore

/// One rule for names, wherever a name is checked (the store's side is in SluiceRuntimeTests).
final class SafeNameTests: XCTestCase {
    func testTheRule() {
        for good in ["a", "sensors", "reload-20261126T091502Z", "v1.2_x", String(repeating: "n", count: 128)] {
            XCTAssertTrue(SafeName.isValid(good), good)
        }
        for bad in ["", ".hidden", "a/b", "my pipeline", "größe", "名前", "a\u{0}b", String(repeating: "n", count: 129)] {
            XCTAssertFalse(SafeName.isValid(bad), bad)
        }
    }

    func testSanitizedNamesFollowTheRule() {
        XCTAssertEqual(SafeName.sanitized("click house/sink"), "click_house_sink")
        XCTAssertEqual(SafeName.sanitized(".x"), "_x")
        XCTAssertEqual(SafeName.sanitized(""), "_")
        XCTAssertTrue(SafeName.isValid(SafeName.sanitized("größe")))
    }
}
