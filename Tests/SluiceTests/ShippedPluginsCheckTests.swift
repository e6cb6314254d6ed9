import Foundation
import XCTest

/// Every plugin sluice ships passes `sluice plugins check`, those that talk to services against
/// a real pulsar-lite and ClickHouse.
final class ShippedPluginsCheckTests: XCTestCase {
    private var dir = ""

    override func setUpWithError() throws { dir = makeTemporaryDirectory("shipped-check") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    private func write(_ name: String, _ text: String) throws -> String {
        let path = dir + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Checks a plugin from the build folder and asserts it passed with no check failing.
    private func assertPasses(_ library: String, _ arguments: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws {
        let path = Built.productsDirectory + "/" + library
        let result = try runProcess(Built.sluice, ["plugins", "check", path] + arguments, timeout: 300)
        XCTAssertEqual(result.status, 0, "\(library): \(result.output)", file: file, line: line)
        XCTAssertFalse(result.stdout.contains("  FAIL "), result.stdout, file: file, line: line)
        XCTAssertTrue(result.stdout.contains("PASS: "), result.stdout, file: file, line: line)
    }

    func testThePluginsWithoutServicesPass() throws {
        try assertPasses("libsequence-source.so")
        try assertPasses("libSluicePassThrough.so")
        try assertPasses("libSluiceNullSink.so")
        try assertPasses("libSluiceFileSink.so", ["--config", try write("files.yaml", "directory: \(dir)/out\n")])
        let lines = try write("lines.txt", (1...5000).map { "line \($0) ✓" }.joined(separator: "\n") + "\n")
        try assertPasses("libSluiceLineSource.so", ["--config", try write("lines.yaml", "path: \(lines)\n")])
        try assertPasses("libSluiceSensorParser.so", [
            "--config", try write("parser.yaml", """
                payload_column: payload
                on_error: dead-letter
                columns:
                  - { name: sensor_id, type: string }
                  - { name: temperature, type: float64 }
                  - { name: humidity, type: float64, nullable: true }
                """),
            "--input", "payload:string?,seq:int64"])
        try assertPasses("libSluiceFn.so", [
            "--config", try write("fn.yaml", """
                library: \(Built.productsDirectory)/libcalibrate.so
                symbol: calibrate
                signature: "double calibrate(double raw, double offset, double gain)"
                args: [value, 0.5, 2.0]
                output: celsius
                """)])
    }

    func testThePulsarAndClickHousePluginsPassAgainstRealServices() throws {
        let broker = try PulsarBroker()
        let produced = try runProcess(Built.sluice, ["produce", "--url", broker.url, "--topic", "checked", "--count", "400000", "--template", "sensors"], timeout: 120)
        XCTAssertEqual(produced.status, 0, produced.output)
        // Batch boundaries depend on what the broker has sent when, so a restored source may cut
        // its next batch elsewhere: compare nothing across the restore.
        try assertPasses("libSluicePulsarSource.so", [
            "--config", try write("source.yaml", "service_url: \(broker.url)\ntopic: checked\nsubscription: check\ninitial_position: earliest\n"),
            "--nondeterministic"])
        try assertPasses("libSluicePulsarSink.so", [
            "--config", try write("sink.yaml", "service_url: \(broker.url)\ntopic: written\n"),
            "--input", "payload:string,key:string?"])

        let server = try ClickHouseServer()
        defer { server.destroy() }
        _ = try server.query("""
            CREATE TABLE checked (id Int64, name Nullable(String), value Nullable(Float64), flag Nullable(UInt8),
                                  count Nullable(UInt32)) ENGINE = MergeTree ORDER BY id
            """)
        try assertPasses("libSluiceClickHouseSink.so", [
            "--config", try write("clickhouse.yaml", "url: \(server.url)\ntable: checked\n"),
            "--input", "id:int64,name:string?,value:float64?,flag:bool?,count:uint32?"])
        // The checker's batches were committed: the data check alone feeds 1,046 rows.
        XCTAssertGreaterThan(Int(try server.scalar("SELECT count() FROM checked")) ?? 0, 1000)
    }
}
