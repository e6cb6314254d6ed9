import Foundation
import ObjectStore
import ServiceTestSupport
import XCTest

/// The S3 client against an S3-compatible server on loopback (moto_server, started through
/// scripts/services/s3.sh): objects with awkward keys, paginated listings, multipart uploads,
/// a missing bucket, and an endpoint that does not answer.
final class S3ClientTests: XCTestCase {
    nonisolated(unsafe) static var server: ObjectStoreServer?

    override class func setUp() {
        super.setUp()
        do { server = try ObjectStoreServer() } catch { XCTFail("\(error)") }
    }

    override class func tearDown() { server = nil }

    static var port: Int { server?.port ?? 0 }

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

    func testConditionalWritesRangesCopiesAndFolders() throws {
        let location = S3Location(bucket: bucket, prefix: "state")
        XCTAssertTrue(try client.putIfAbsent(location, key: "savepoints/a.ckpt", body: [1, 2, 3]))
        XCTAssertFalse(try client.putIfAbsent(location, key: "savepoints/a.ckpt", body: [9]), "a taken name is refused")
        XCTAssertEqual(try client.get(location, key: "savepoints/a.ckpt"), [1, 2, 3], "and left as it was")

        let body = (0..<1000).map { UInt8($0 % 251) }
        try client.put(location, key: "operators/sink/blob", body: body)
        XCTAssertEqual(try client.size(location, key: "operators/sink/blob"), 1000)
        XCTAssertNil(try client.size(location, key: "operators/sink/none"))
        XCTAssertEqual(try client.get(location, key: "operators/sink/blob", offset: 10, length: 5), Array(body[10..<15]))
        XCTAssertEqual(try client.get(location, key: "operators/sink/blob", offset: 990, length: 50), Array(body[990...]), "short at the end")
        XCTAssertEqual(try client.get(location, key: "operators/sink/blob", offset: 1000, length: 10), [], "nothing past it")

        try client.copy(location, from: "operators/sink/blob", to: "operators/sink/copy of blob")
        XCTAssertEqual(try client.get(location, key: "operators/sink/copy of blob"), body)
        try client.put(location, key: "instance-1/checkpoints/x", body: [1])
        XCTAssertEqual(try client.commonPrefixes(location), ["instance-1/", "operators/", "savepoints/"])
        XCTAssertEqual(try client.list(location).first?.modified.map { abs($0.timeIntervalSinceNow) < 300 }, true, "LastModified is read")

        let upload = try client.createMultipartUpload(location, key: "operators/sink/open")
        XCTAssertEqual(try client.incompleteUploads(location).map(\.key), ["operators/sink/open"])
        XCTAssertEqual(try client.incompleteUploads(location).first?.uploadID, upload)
        try client.abortMultipartUpload(location, key: "operators/sink/open", uploadID: upload)
        XCTAssertEqual(try client.incompleteUploads(location).count, 0)
    }

    /// A Kubernetes service account's token exchanged for a role's keys at the STS endpoint
    /// (moto's), then used to sign requests.
    func testWebIdentityCredentialsAreAssumedAndUsed() throws {
        let tokenFile = NSTemporaryDirectory() + "sluice-token-\(UUID().uuidString)"
        try "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: tokenFile) }
        let environment = ["AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/sluice", "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile,
                           "AWS_ENDPOINT_URL": "http://127.0.0.1:\(Self.port)", "HOME": "/nonexistent"]
        let configuration = try S3Configuration.resolve(endpoint: nil, region: "us-east-1", pathStyle: nil, environment: environment)
        guard case .webIdentity(let role) = configuration.credentials else { return XCTFail("expected a web identity: \(configuration.credentials)") }
        XCTAssertEqual(role.stsEndpoint, "http://127.0.0.1:\(Self.port)")
        let assumed = S3Client(configuration: configuration)
        defer { assumed.shutdown() }
        let location = S3Location(bucket: bucket, prefix: "wi")
        try assumed.put(location, key: "k", body: [4, 2])
        XCTAssertEqual(try client.get(location, key: "k"), [4, 2])

        XCTAssertThrowsError(try S3Configuration.resolve(endpoint: nil, region: nil, pathStyle: nil,
                                                         environment: ["AWS_ROLE_ARN": "arn:aws:iam::1:role/x", "HOME": "/nonexistent"])) { error in
            XCTAssertTrue("\(error)".contains("AWS_WEB_IDENTITY_TOKEN_FILE is not"), "\(error)")
        }
        let missing = S3Client(configuration: try S3Configuration.resolve(
            endpoint: nil, region: "us-east-1", pathStyle: nil,
            environment: environment.merging(["AWS_WEB_IDENTITY_TOKEN_FILE": "/nonexistent/token"]) { $1 }))
        defer { missing.shutdown() }
        XCTAssertThrowsError(try missing.put(location, key: "k2", body: [1])) { error in
            XCTAssertTrue("\(error)".contains("/nonexistent/token (AWS_WEB_IDENTITY_TOKEN_FILE) cannot be read"), "\(error)")
        }
    }

}

/// Lines logged from the client's thread.
final class LogLines: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func append(_ line: String) { lock.lock(); stored.append(line); lock.unlock() }
    var lines: [String] { lock.lock(); defer { lock.unlock() }; return stored }
}
