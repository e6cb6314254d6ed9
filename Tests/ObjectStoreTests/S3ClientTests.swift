import Foundation
import ObjectStore
import ServiceTestSupport
import XCTest

/// The S3 client against an S3-compatible server on loopback (moto_server, started through
/// scripts/services/s3.sh): objects with awkward keys, paginated listings, multipart uploads,
/// a missing bucket, and an endpoint that does not answer.
final class S3ClientTests: XCTestCase {
    nonisolated(unsafe) static var port = 0
    nonisolated(unsafe) static var directory = ""
    static var script: String { ClickHouseServer.packageRoot + "/scripts/services/s3.sh" }

    override class func setUp() {
        super.setUp()
        port = freePort()
        directory = NSTemporaryDirectory() + "sluice-s3-\(UUID().uuidString.prefix(8))"
        let result = try? runCommand("/bin/bash", [script, "start", directory, String(port)], timeout: 60)
        if result?.status != 0 { XCTFail("moto_server did not start (run scripts/test, which installs it): \(result?.output ?? "")") }
    }

    override class func tearDown() {
        _ = try? runCommand("/bin/bash", [script, "stop", directory], timeout: 30)
        try? FileManager.default.removeItem(atPath: directory)
    }

    private var client: S3Client!
    private let bucket = "sluice-\(UUID().uuidString.prefix(8).lowercased())"

    override func setUpWithError() throws {
        var configuration = S3Configuration(endpoint: "http://127.0.0.1:\(Self.port)", region: "us-east-1", pathStyle: true,
                                            credentials: AWSCredentials(accessKeyID: "test", secretAccessKey: "test"))
        configuration.maxAttempts = 2
        client = S3Client(configuration: configuration)
        try client.createBucket(bucket)
    }

    override func tearDown() { client.shutdown() }

    func testObjectsRoundTripAndListPageByPage() throws {
        let location = S3Location(bucket: bucket, prefix: "pipelines/sensors")
        let keys = ["chk-00000001/manifest", "chk-00000002/a b+c=d", "chk-00000002/é€", "staged/x&y"]
        for (i, key) in keys.enumerated() {
            try client.put(location, key: key, body: Array("value \(i)".utf8))
        }
        try client.put(S3Location(bucket: bucket, prefix: "elsewhere"), key: "k", body: [1])
        for (i, key) in keys.enumerated() {
            XCTAssertEqual(try client.get(location, key: key), Array("value \(i)".utf8), key)
        }
        XCTAssertEqual(try client.list(location).map(\.key), keys.sorted())
        XCTAssertEqual(try client.list(location, pageSize: 1).map(\.key), keys.sorted(), "continuation tokens followed")
        XCTAssertEqual(try client.list(location, prefix: "chk-00000002/").map(\.key), ["chk-00000002/a b+c=d", "chk-00000002/é€"])
        XCTAssertEqual(try client.list(location).first?.size, 7)
        try client.delete(location, key: keys[0])
        try client.delete(location, key: "never-existed")
        XCTAssertThrowsError(try client.get(location, key: keys[0])) { error in
            XCTAssertEqual(error as? ObjectStoreError, .notFound("s3://\(bucket)/pipelines/sensors/\(keys[0])"))
        }
        XCTAssertNoThrow(try client.checkBucket(location))
    }

    func testMultipartUploadsAssembleAndAbort() throws {
        let location = S3Location(bucket: bucket, prefix: "staged")
        let part1 = [UInt8](repeating: 7, count: 5 << 20)
        let part2 = Array("tail".utf8)
        let upload = try client.createMultipartUpload(location, key: "epoch-1")
        let etag1 = try client.uploadPart(location, key: "epoch-1", uploadID: upload, number: 1, body: part1)
        let etag2 = try client.uploadPart(location, key: "epoch-1", uploadID: upload, number: 2, body: part2)
        XCTAssertEqual(try client.list(location).map(\.key), [], "nothing visible before completion")
        try client.completeMultipartUpload(location, key: "epoch-1", uploadID: upload, parts: [(1, etag1), (2, etag2)])
        XCTAssertEqual(try client.get(location, key: "epoch-1"), part1 + part2)

        let abandoned = try client.createMultipartUpload(location, key: "epoch-2")
        _ = try client.uploadPart(location, key: "epoch-2", uploadID: abandoned, number: 1, body: part2)
        try client.abortMultipartUpload(location, key: "epoch-2", uploadID: abandoned)
        XCTAssertEqual(try client.list(location).map(\.key), ["epoch-1"])
    }

    func testMissingBucketAndUnreachableEndpointAreOneLine() throws {
        XCTAssertThrowsError(try client.checkBucket(S3Location(bucket: "no-such-bucket-\(bucket)", prefix: "x"))) { error in
            XCTAssertTrue("\(error)".hasPrefix("bucket 'no-such-bucket-\(bucket)' does not exist at http://127.0.0.1:\(Self.port)"), "\(error)")
        }
        var configuration = client.configuration
        configuration.endpoint = "http://127.0.0.1:\(freePort())"
        configuration.maxAttempts = 3
        configuration.initialBackoff = .milliseconds(10)
        let unreachable = S3Client(configuration: configuration)
        defer { unreachable.shutdown() }
        let retries = LogLines()
        unreachable.log = { retries.append($0) }
        XCTAssertThrowsError(try unreachable.get(S3Location(bucket: bucket, prefix: ""), key: "k")) { error in
            guard case .unreachable(let why)? = error as? ObjectStoreError else { return XCTFail("\(error)") }
            XCTAssertTrue(why.hasPrefix("reading s3://\(bucket)/k: \(configuration.endpoint) unreachable"), why)
        }
        XCTAssertEqual(retries.lines.count, 2, "3 attempts, 2 retries logged: \(retries.lines)")
    }
}

/// Lines logged from the client's thread.
final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func append(_ line: String) { lock.lock(); stored.append(line); lock.unlock() }
    var lines: [String] { lock.lock(); defer { lock.unlock() }; return stored }
}
