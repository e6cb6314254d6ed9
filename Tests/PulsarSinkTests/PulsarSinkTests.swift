import Foundation
import XCTest
import PluginKit
@testable import PulsarSink

/// The Pulsar sink's staging and configuration (its publishing meets pulsar-lite in
/// SluiceTests.PulsarDeadLetterTests).
final class PulsarSinkTests: XCTestCase {
    private var dir = ""

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "pulsar-sink-\(UUID().uuidString.prefix(8))"
        try DurableFile.makeDirectories(dir)
    }

    override func tearDown() { try? DurableFile.removeTree(dir) }

    func testStagedMessagesKeepPayloadKeyAndPropertiesThroughASeal() throws {
        let staging = StagedMessages(staging: try Staging(directory: dir), messageIDPrefix: "p/dead-letters")
        try staging.append(payload: Array("{\"bad\":1}".utf8), key: "sensor-7", properties: [("reason", "not a number"), ("operator", "parse")])
        try staging.append(payload: [], key: nil, properties: [])
        XCTAssertTrue(try staging.seal(3))
        XCTAssertFalse(try staging.seal(4), "an epoch without messages is not sealed")
        XCTAssertEqual(try staging.stagedEpochs(), [3])
        var seen: [([UInt8], String?, [String])] = []
        try staging.forEachMessage(in: 3) { payload, key, properties in seen.append((payload, key, properties.map { "\($0.0)=\($0.1)" })) }
        XCTAssertEqual(seen.count, 2)
        XCTAssertEqual(seen[0].0, Array("{\"bad\":1}".utf8))
        XCTAssertEqual(seen[0].1, "sensor-7")
        XCTAssertEqual(seen[0].2, ["reason=not a number", "operator=parse"])
        XCTAssertEqual(seen[1].0, [])
        XCTAssertNil(seen[1].1)
    }

    func testATruncatedStagedFileIsAClearError() throws {
        let staging = StagedMessages(staging: try Staging(directory: dir), messageIDPrefix: "p/s")
        try staging.append(payload: Array("abc".utf8), key: nil, properties: [])
        _ = try staging.seal(1)
        let path = dir + "/" + staging.files.sealedName(1)
        let bytes = try DurableFile.read(path)
        try DurableFile.replace(path, bytes: Array(bytes.dropLast(2)))
        XCTAssertThrowsError(try staging.forEachMessage(in: 1) { _, _, _ in }) { error in
            XCTAssertTrue("\(error)".contains("is truncated"), "\(error)")
        }
    }

    func testConfigurationNamesAndDefaults() throws {
        func decode(_ json: String) throws -> PulsarSink.Config { try JSONDecoder().decode(PulsarSink.Config.self, from: Data(json.utf8)) }
        let config = try decode(#"{"service_url":"pulsar://h:6650","topic":"dlq","token_env":"T"}"#)
        XCTAssertEqual(config.payloadColumn, "payload")
        XCTAssertEqual(config.keyColumn, "key")
        XCTAssertEqual(config.compression, .none)
        XCTAssertEqual(config.connection.token, ConfigSecret(key: "token", environmentVariable: "T"))
        XCTAssertThrowsError(try decode(#"{"service_url":"pulsar://h:6650","topic":"dlq","compression":"brotli"}"#)) { error in
            XCTAssertTrue("\(error)".contains("unknown compression 'brotli'"), "\(error)")
        }
        XCTAssertThrowsError(try PulsarSink.validate(try decode(#"{"service_url":"pulsar://h:6650","topic":"dlq","token":"a","token_file":"/x"}"#))) { error in
            XCTAssertEqual((error as? PluginError)?.configPath, "/token_file")
        }
    }
}
