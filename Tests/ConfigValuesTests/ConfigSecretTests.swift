import ConfigValues
import Foundation
import XCTest

/// One set of rules for every secret: value, `_env` or `_file`, never printed.
final class ConfigSecretTests: XCTestCase {
    private var file = ""

    override func setUpWithError() throws {
        file = NSTemporaryDirectory() + "secret-\(UUID().uuidString)"
        try Data("s3cret\r\n".utf8).write(to: URL(fileURLWithPath: file))
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: file) }

    func testEachOfTheThreeFormsResolves() throws {
        XCTAssertEqual(try ConfigSecret(key: "password", value: "v").resolve(environment: [:]), "v")
        XCTAssertEqual(try ConfigSecret(key: "password", environmentVariable: "PW").resolve(environment: ["PW": " x "]), " x ", "an environment value is used as it is")
        XCTAssertEqual(try ConfigSecret(key: "password", file: file).resolve(environment: [:]), "s3cret", "a file loses its line breaks at the end")
        XCTAssertNil(try ConfigSecret(key: "password").resolve(environment: [:]))
        XCTAssertNil(try ConfigSecret(key: "password", environmentVariable: "PW").resolve(environment: ["PW": ""]), "an empty secret is none")
        XCTAssertNil(try ConfigSecret(key: "password", value: "").resolve(environment: [:]))
        XCTAssertFalse(ConfigSecret(key: "password").isGiven)
    }

    func testEveryProblemNamesItsKeyAndNeverTheSecret() {
        func problem(_ secret: ConfigSecret, _ environment: [String: String] = [:]) -> ConfigProblem? {
            secret.problems(environment: environment).first
        }
        let two = problem(ConfigSecret(key: "token", value: "hidden-value", file: file))
        XCTAssertEqual(two?.configPath, "/token_file")
        XCTAssertTrue(two?.message.contains("at most one of token, token_env and token_file") == true, "\(String(describing: two))")
        let unset = problem(ConfigSecret(key: "token", environmentVariable: "NOPE"))
        XCTAssertEqual(unset, ConfigProblem("token_env names the environment variable NOPE, which is not set", configPath: "/token_env"))
        let missing = problem(ConfigSecret(key: "password", file: "/nonexistent/secret"))
        XCTAssertEqual(missing, ConfigProblem("password_file '/nonexistent/secret' does not exist", configPath: "/password_file"))
        for found in [two, unset, missing] {
            XCTAssertFalse(found?.message.contains("hidden-value") == true)
            XCTAssertFalse(found?.message.contains("s3cret") == true)
        }
        XCTAssertEqual(ConfigSecret(key: "token", environmentVariable: "T").origin, "token_env ($T)")
    }
}
