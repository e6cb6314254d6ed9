import Foundation
@testable import ObjectStore
import XCTest

/// SigV4 as AWS documents it, and as botocore (the AWS SDK for Python) computes it.
final class SigV4Tests: XCTestCase {
    static let example = AWSCredentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    static let may24 = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z

    /// "Example: GET Object" of the S3 API reference (Signature Version 4, header authentication).
    func testAWSPublishedGetObjectExample() {
        let signer = SigV4Signer(credentials: Self.example, region: "us-east-1")
        let headers = signer.sign(method: "GET", path: "/test.txt", query: [],
                                  headers: [("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9")],
                                  payloadHash: SigV4Signer.emptyPayloadHash, date: Self.may24)
        XCTAssertEqual(headers.first { $0.0 == "Authorization" }?.1,
                       "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        XCTAssertEqual(headers.first { $0.0 == "x-amz-date" }?.1, "20130524T000000Z")
        XCTAssertEqual(SigV4Signer.payloadHash([UInt8]()), SigV4Signer.emptyPayloadHash)
    }

    func testEncodingAndQueryOrder() {
        XCTAssertEqual(SigV4Signer.uriEncode("a b/c~d_e.f-g*h"), "a%20b%2Fc~d_e.f-g%2Ah")
        XCTAssertEqual(SigV4Signer.uriEncode("ck/instance-0/é", keepSlash: true), "ck/instance-0/%C3%A9")
        XCTAssertEqual(SigV4Signer.canonicalQuery([("uploadId", "x/y"), ("partNumber", "2"), ("uploads", "")]), "partNumber=2&uploadId=x%2Fy&uploads=")
    }

    /// Requests the client makes (object keys with spaces and unicode, listings with
    /// continuation tokens, multipart steps, temporary credentials) signed by botocore, whose
    /// Authorization header ours must equal byte for byte.
    func testSignaturesEqualBotocore() throws {
        let python = ServiceFixtures.python
        guard FileManager.default.isExecutableFile(atPath: python) else {
            return XCTFail("\(python) is missing: run scripts/test, which installs moto (and botocore with it) into .venv")
        }
        let cases: [(method: String, host: String, path: String, query: [(String, String)], body: String, token: String?)] = [
            ("PUT", "127.0.0.1:5000", "/bucket/ck/instance-0/chk-00000001/manifest", [], "{\"a\":1}", nil),
            ("GET", "127.0.0.1:5000", "/bucket/", [("list-type", "2"), ("prefix", "ck/a b/é"), ("continuation-token", "1/2+3=")], "", nil),
            ("POST", "bucket.s3.eu-west-1.amazonaws.com", "/staged/epoch%207", [("uploads", "")], "", "FwoGZXIvYXdzEXAMPLETOKEN"),
            ("PUT", "bucket.s3.eu-west-1.amazonaws.com", "/staged/epoch%207", [("partNumber", "3"), ("uploadId", "VXBsb2Fk/ID==")], String(repeating: "x", count: 1000), nil),
        ]
        for c in cases {
            let credentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: c.token)
            let region = c.host.contains("eu-west-1") ? "eu-west-1" : "us-east-1"
            let ours = SigV4Signer(credentials: credentials, region: region)
                .sign(method: c.method, path: c.path, query: c.query, headers: [("host", c.host)],
                      payloadHash: SigV4Signer.payloadHash(Array(c.body.utf8)), date: Self.may24)
                .first { $0.0 == "Authorization" }!.1
            let query = c.query.map { "\(SigV4Signer.uriEncode($0.0))=\(SigV4Signer.uriEncode($0.1))" }.joined(separator: "&")
            let url = "http://\(c.host)\(c.path)" + (query.isEmpty ? "" : "?" + query)
            let input: [String: Any] = ["method": c.method, "url": url, "body": c.body, "region": region, "token": c.token ?? ""]
            let result = try ServiceFixtures.run(python, [ServiceFixtures.fixture("sigv4_reference.py")],
                                                 input: try JSONSerialization.data(withJSONObject: input))
            XCTAssertEqual(result.status, 0, result.stderr)
            XCTAssertEqual(ours, result.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "\(c.method) \(url)")
        }
    }

    func testCredentialSources() throws {
        let env = try AWSCredentials.fromEnvironment(["AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "tok", "HOME": "/nonexistent"])
        XCTAssertEqual(env?.accessKeyID, "AKID")
        XCTAssertEqual(env?.sessionToken, "tok")
        XCTAssertEqual(env?.description, "access key AKID (from environment)")
        XCTAssertThrowsError(try AWSCredentials.fromEnvironment(["AWS_ACCESS_KEY_ID": "AKID", "HOME": "/nonexistent"]))
        XCTAssertNil(try AWSCredentials.fromEnvironment(["HOME": "/nonexistent"]))
        let file = NSTemporaryDirectory() + "sluice-aws-\(UUID().uuidString.prefix(6))"
        try "[default]\naws_access_key_id = D\naws_secret_access_key = ds\n\n[profile ci]\naws_access_key_id=C\naws_secret_access_key=cs\naws_session_token = ct\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        XCTAssertEqual(try AWSCredentials.fromEnvironment(["AWS_SHARED_CREDENTIALS_FILE": file])?.accessKeyID, "D")
        let ci = try AWSCredentials.fromEnvironment(["AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": "ci"])
        XCTAssertEqual(ci?.accessKeyID, "C")
        XCTAssertEqual(ci?.sessionToken, "ct")
        XCTAssertEqual(ci?.origin, "\(file) [ci]")
        XCTAssertThrowsError(try AWSCredentials.fromEnvironment(["AWS_SHARED_CREDENTIALS_FILE": file, "AWS_PROFILE": "missing"])) { error in
            XCTAssertEqual("\(error)", "profile 'missing' (AWS_PROFILE) is not in \(file)")
        }
        XCTAssertFalse("\(ci!)".contains("cs"), "the secret is never printed")
    }

    func testLocationsEndpointsAndXML() throws {
        let location = try S3Location("s3://sluice-state/pipelines/sensors/")
        XCTAssertEqual(location.bucket, "sluice-state")
        XCTAssertEqual(location.prefix, "pipelines/sensors/")
        XCTAssertEqual(try S3Location("s3://b").prefix, "")
        XCTAssertEqual(location.appending("instance-1").description, "s3://sluice-state/pipelines/sensors/instance-1/")
        XCTAssertThrowsError(try S3Location("s3:///x"))
        XCTAssertThrowsError(try S3Location("s3://Upper/x"))
        XCTAssertThrowsError(try S3Location("/local/path"))
        let env = ["AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "S", "HOME": "/nonexistent"]
        let aws = try S3Configuration.resolve(endpoint: nil, region: "eu-west-1", pathStyle: nil, environment: env)
        XCTAssertEqual(aws.endpoint, "https://s3.eu-west-1.amazonaws.com")
        XCTAssertFalse(aws.pathStyle)
        let local = try S3Configuration.resolve(endpoint: nil, region: nil, pathStyle: nil, environment: env.merging(["AWS_ENDPOINT_URL": "http://127.0.0.1:5000/", "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:5001"]) { $1 })
        XCTAssertEqual(local.endpoint, "http://127.0.0.1:5001", "the S3-specific variable wins")
        XCTAssertTrue(local.pathStyle)
        XCTAssertEqual(local.region, "us-east-1")
        XCTAssertThrowsError(try S3Configuration.resolve(endpoint: "ftp://x", region: nil, pathStyle: nil, environment: env))
        XCTAssertThrowsError(try S3Configuration.resolve(endpoint: nil, region: nil, pathStyle: nil, environment: ["HOME": "/nonexistent"])) { error in
            XCTAssertTrue("\(error)".hasPrefix("no AWS credentials"), "\(error)")
        }
        let client = S3Client(configuration: local)
        defer { client.shutdown() }
        XCTAssertEqual(client.address(bucket: "b", key: "a b/c").url, "http://127.0.0.1:5001/b/a%20b/c")
        XCTAssertEqual(client.address(bucket: "b", key: "a b/c").host, "127.0.0.1:5001")

        let xml: Substring = "<ListBucketResult><IsTruncated>true</IsTruncated><Contents><Key>a&amp;b</Key><Size>3</Size></Contents><Contents><Key>c&#233;</Key><Size>4</Size></Contents><NextContinuationToken>t1</NextContinuationToken></ListBucketResult>"
        XCTAssertEqual(S3XML.sections("Contents", in: xml).compactMap { S3XML.value("Key", in: $0) }, ["a&b", "cé"])
        XCTAssertEqual(S3XML.value("NextContinuationToken", in: xml), "t1")
    }
}
