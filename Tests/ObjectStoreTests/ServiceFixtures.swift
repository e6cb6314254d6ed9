import Foundation
import ServiceTestSupport

/// The package's Python (.venv, with moto and botocore) and the fixtures of these tests.
enum ServiceFixtures {
    static var python: String { ClickHouseServer.packageRoot + "/.venv/bin/python" }
    static func fixture(_ name: String) -> String { ClickHouseServer.packageRoot + "/Tests/Fixtures/s3/" + name }
    static func run(_ executable: String, _ arguments: [String], input: Data? = nil) throws -> CommandResult {
        try runCommand(executable, arguments, input: input, timeout: 60)
    }
}
