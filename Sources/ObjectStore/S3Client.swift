import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// What went wrong with the object store, in one line that names the endpoint and the bucket.
public enum ObjectStoreError: Error, CustomStringConvertible, Equatable {
    /// A setting that cannot work (no credentials, a bad URL).
    case configuration(String)
    /// The object does not exist.
    case notFound(String)
    /// The store answered with an error (S3's code and message).
    case service(status: Int, code: String, message: String)
    /// No answer: refused, reset, timed out. Retried with backoff.
    case unreachable(String)

    public var description: String {
        switch self {
        case .configuration(let why), .unreachable(let why): return why
        case .notFound(let what): return "\(what) does not exist"
        case .service(let status, let code, let message): return "HTTP \(status) \(code): \(message)"
        }
    }

    /// Worth another try: no answer, a 5xx, or S3's SlowDown (503) and 429.
    public var isRetryable: Bool {
        switch self {
        case .unreachable: return true
        case .service(let status, let code, _): return status >= 500 || status == 429 || code == "SlowDown" || code == "RequestTimeout"
        default: return false
        }
    }
}

/// `s3://bucket/prefix`, parsed. The prefix has no leading slash and, when not empty, ends in one.
public struct S3Location: Sendable, Equatable, CustomStringConvertible {
    public let bucket: String
    public let prefix: String

    public init(_ text: String) throws {
        guard text.hasPrefix("s3://") else { throw ObjectStoreError.configuration("'\(text)' is not an s3://bucket/prefix URL") }
        let rest = text.dropFirst("s3://".count)
        let bucket = rest.prefix { $0 != "/" }
        guard !bucket.isEmpty, bucket.allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "-" || $0 == "." }) else {
            throw ObjectStoreError.configuration("'\(text)': the bucket name must be lowercase letters, digits, '-' and '.'")
        }
        self.bucket = String(bucket)
        var prefix = String(rest.dropFirst(bucket.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !prefix.isEmpty { prefix += "/" }
        self.prefix = prefix
    }

    public init(bucket: String, prefix: String) {
        self.bucket = bucket
        self.prefix = prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/"
    }

    public var description: String { "s3://\(bucket)/\(prefix)" }

    /// A location below this one.
    public func appending(_ folder: String) -> S3Location { S3Location(bucket: bucket, prefix: prefix + folder) }
}

/// Where and how to reach the store.
public struct S3Configuration: Sendable {
    /// scheme://host[:port], no path.
    public var endpoint: String
    public var region: String
    /// https://endpoint/bucket/key (S3-compatible stores, and the default with a custom
    /// endpoint) instead of https://bucket.endpoint/key.
    public var pathStyle: Bool
    public var credentials: AWSCredentialSource
    public var requestTimeout: TimeAmount = .seconds(30)
    public var connectTimeout: TimeAmount = .seconds(5)
    /// Attempts per request, the first included, for retryable failures.
    public var maxAttempts = 6
    public var initialBackoff: TimeAmount = .milliseconds(100)
    public var maxBackoff: TimeAmount = .seconds(5)

    public init(endpoint: String, region: String, pathStyle: Bool, credentials: AWSCredentialSource) {
        self.endpoint = endpoint
        self.region = region
        self.pathStyle = pathStyle
        self.credentials = credentials
    }

    public init(endpoint: String, region: String, pathStyle: Bool, credentials: AWSCredentials) {
        self.init(endpoint: endpoint, region: region, pathStyle: pathStyle, credentials: .fixed(credentials))
    }

    /// The configuration the AWS SDKs would use: the endpoint given, else `AWS_ENDPOINT_URL_S3`,
    /// else `AWS_ENDPOINT_URL`, else AWS's regional endpoint; the region given, else
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`, else us-east-1; path-style unless the endpoint is
    /// AWS's own; credentials from the environment or the shared credentials file.
    public static func resolve(endpoint: String?, region: String?, pathStyle: Bool?,
                               environment: [String: String] = ProcessInfo.processInfo.environment) throws -> S3Configuration {
        let region = region ?? environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1"
        let custom = endpoint ?? environment["AWS_ENDPOINT_URL_S3"] ?? environment["AWS_ENDPOINT_URL"]
        var resolved = custom ?? "https://s3.\(region).amazonaws.com"
        while resolved.hasSuffix("/") { resolved.removeLast() }
        guard let url = URL(string: resolved), let scheme = url.scheme, scheme == "http" || scheme == "https", url.host != nil, url.path.isEmpty else {
            throw ObjectStoreError.configuration("the S3 endpoint '\(resolved)' must be http(s)://host[:port]")
        }
        guard let credentials = try AWSCredentialSource.fromEnvironment(environment, region: region) else {
            throw ObjectStoreError.configuration("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile in ~/.aws/credentials (AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE), or AWS_ROLE_ARN with AWS_WEB_IDENTITY_TOKEN_FILE (a Kubernetes service account)")
        }
        return S3Configuration(endpoint: resolved, region: region, pathStyle: pathStyle ?? (custom != nil), credentials: credentials)
    }
}

/// One object of a listing.
public struct S3Object: Sendable, Equatable {
    public let key: String
    public let size: Int
    /// `LastModified`, when the listing has it.
    public var modified: Date? = nil
}

/// A synchronous S3 client (the calls block: they run on the checkpoint and operator threads),
/// over AsyncHTTPClient on its own event loop, every request signed with SigV4 and retried with
/// exponential backoff while the failure may heal. `shutdown` once before dropping it.
public final class S3Client: @unchecked Sendable {
    public let configuration: S3Configuration
    private let group: MultiThreadedEventLoopGroup
    private let http: HTTPClient
    private let credentials: CredentialCache
    private let endpoint: URL
    private var isShutDown = false
    /// Called before each retry with what failed and the wait; never with a secret.
    public var log: (@Sendable (String) -> Void)?

    public init(configuration: S3Configuration) {
        self.configuration = configuration
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var http = HTTPClient.Configuration()
        http.timeout = .init(connect: configuration.connectTimeout, read: configuration.requestTimeout)
        http.decompression = .disabled
        http.redirectConfiguration = .disallow
        // Our backoff retries a refused connection (and logs what it waits for); AsyncHTTPClient's
        // own would keep retrying until the connect timeout, attempt after attempt.
        http.connectionPool.retryConnectionEstablishment = false
        self.http = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: http)
        credentials = CredentialCache(source: configuration.credentials)
        endpoint = URL(string: configuration.endpoint)!
    }

    deinit { shutdown() }

    public func shutdown() {
        guard !isShutDown else { return }
        isShutDown = true
        try? http.syncShutdown()
        try? group.syncShutdownGracefully()
    }

    // MARK: - Objects

    public func put(_ location: S3Location, key: String, body: [UInt8]) throws {
        _ = try send("PUT", location.bucket, key: location.prefix + key, body: body, what: "writing \(location)\(key)")
    }

    /// Writes the object only if no object has that key (`If-None-Match: *`, which S3 and
    /// most compatible stores honour); false when one has. Atomic on the store's side, so two
    /// writers racing for one name cannot both win.
    public func putIfAbsent(_ location: S3Location, key: String, body: [UInt8]) throws -> Bool {
        do {
            _ = try send("PUT", location.bucket, key: location.prefix + key, headers: [("If-None-Match", "*")], body: body,
                         what: "writing \(location)\(key)")
            return true
        } catch ObjectStoreError.service(let status, let code, _) where status == 412 || code == "PreconditionFailed" {
            return false
        }
    }

    /// The object's bytes; `ObjectStoreError.notFound` when there is none.
    public func get(_ location: S3Location, key: String) throws -> [UInt8] {
        try send("GET", location.bucket, key: location.prefix + key, what: "reading \(location)\(key)").body
    }

    /// Up to `length` bytes of the object from `offset` (fewer at its end, none past it).
    public func get(_ location: S3Location, key: String, offset: Int, length: Int) throws -> [UInt8] {
        guard length > 0 else { return [] }
        do {
            return try send("GET", location.bucket, key: location.prefix + key, headers: [("Range", "bytes=\(offset)-\(offset + length - 1)")],
                            what: "reading \(location)\(key)").body
        } catch ObjectStoreError.service(let status, _, _) where status == 416 {
            return []
        }
    }

    /// The object's size, or nil when there is none.
    public func size(_ location: S3Location, key: String) throws -> Int? {
        do {
            let answer = try send("HEAD", location.bucket, key: location.prefix + key, what: "looking up \(location)\(key)")
            return answer.headers.first(name: "Content-Length").flatMap { Int($0) } ?? 0
        } catch ObjectStoreError.notFound {
            return nil
        } catch ObjectStoreError.service(let status, _, _) where status == 404 {
            return nil
        }
    }

    /// Copies an object within the location on the store's side (objects up to 5 GB).
    public func copy(_ location: S3Location, from source: String, to key: String) throws {
        let copySource = "/\(location.bucket)/" + SigV4Signer.uriEncode(location.prefix + source, keepSlash: true)
        let answer = try send("PUT", location.bucket, key: location.prefix + key, headers: [("x-amz-copy-source", copySource)],
                              what: "copying \(location)\(source) to \(key)")
        let xml = Substring(String(decoding: answer.body, as: UTF8.self))
        if xml.contains("<Error>") {
            throw ObjectStoreError.service(status: 200, code: S3XML.value("Code", in: xml) ?? "Error", message: S3XML.value("Message", in: xml) ?? "")
        }
    }

    /// Every object whose key starts with the location's prefix and `prefix`, in key order,
    /// page after page (`pageSize` keys each; S3's default is 1,000).
    public func list(_ location: S3Location, prefix: String = "", pageSize: Int? = nil) throws -> [S3Object] {
        var objects: [S3Object] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", location.prefix + prefix)]
            if let pageSize { query.append(("max-keys", String(pageSize))) }
            if let token { query.append(("continuation-token", token)) }
            let answer = try send("GET", location.bucket, key: "", query: query, what: "listing \(location)\(prefix)")
            let xml = Substring(String(decoding: answer.body, as: UTF8.self))
            for entry in S3XML.sections("Contents", in: xml) {
                guard let key = S3XML.value("Key", in: entry) else { continue }
                objects.append(S3Object(key: String(key.dropFirst(location.prefix.count)), size: Int(S3XML.value("Size", in: entry) ?? "") ?? 0,
                                        modified: S3XML.value("LastModified", in: entry).flatMap(S3XML.date)))
            }
            token = S3XML.value("IsTruncated", in: xml) == "true" ? S3XML.value("NextContinuationToken", in: xml) : nil
        } while token != nil
        return objects
    }

    /// The "folders" directly under the location (`delimiter=/`): their names, ending in "/".
    public func commonPrefixes(_ location: S3Location) throws -> [String] {
        var prefixes: [String] = []
        var token: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", location.prefix), ("delimiter", "/")]
            if let token { query.append(("continuation-token", token)) }
            let answer = try send("GET", location.bucket, key: "", query: query, what: "listing \(location)")
            let xml = Substring(String(decoding: answer.body, as: UTF8.self))
            for entry in S3XML.sections("CommonPrefixes", in: xml) {
                if let prefix = S3XML.value("Prefix", in: entry) { prefixes.append(String(prefix.dropFirst(location.prefix.count))) }
            }
            token = S3XML.value("IsTruncated", in: xml) == "true" ? S3XML.value("NextContinuationToken", in: xml) : nil
        } while token != nil
        return prefixes
    }

    /// Deletes an object; deleting one that does not exist succeeds (as S3 does).
    public func delete(_ location: S3Location, key: String) throws {
        _ = try send("DELETE", location.bucket, key: location.prefix + key, what: "deleting \(location)\(key)")
    }

    /// Creates a bucket (tests and first-time setup); an existing bucket of ours is fine.
    public func createBucket(_ bucket: String) throws {
        do {
            _ = try send("PUT", bucket, key: "", what: "creating bucket \(bucket)")
        } catch ObjectStoreError.service(_, let code, _) where code == "BucketAlreadyOwnedByYou" {}
    }

    /// Checks that the bucket exists and the credentials may use it: one line per cause.
    public func checkBucket(_ location: S3Location) throws {
        do {
            _ = try send("GET", location.bucket, key: "", query: [("list-type", "2"), ("max-keys", "1"), ("prefix", location.prefix)], what: "listing \(location)")
        } catch ObjectStoreError.service(let status, let code, let message) where code == "NoSuchBucket" || status == 404 {
            throw ObjectStoreError.configuration("bucket '\(location.bucket)' does not exist at \(configuration.endpoint) (\(code): \(message))")
        } catch ObjectStoreError.service(let status, let code, let message) where status == 403 || code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" {
            throw ObjectStoreError.configuration("\(configuration.endpoint) refused \(configuration.credentials) for bucket '\(location.bucket)' (\(code): \(message))")
        }
    }

    // MARK: - Multipart uploads (large objects, streamed in parts)

    public func createMultipartUpload(_ location: S3Location, key: String) throws -> String {
        let answer = try send("POST", location.bucket, key: location.prefix + key, query: [("uploads", "")], what: "starting an upload of \(location)\(key)")
        guard let id = S3XML.value("UploadId", in: Substring(String(decoding: answer.body, as: UTF8.self))) else {
            throw ObjectStoreError.service(status: 200, code: "NoUploadId", message: "the answer to starting an upload of \(location)\(key) has no UploadId")
        }
        return id
    }

    /// Uploads part `number` (1...10000; every part but the last at least 5 MiB); returns its ETag.
    public func uploadPart(_ location: S3Location, key: String, uploadID: String, number: Int, body: [UInt8]) throws -> String {
        let answer = try send("PUT", location.bucket, key: location.prefix + key, query: [("partNumber", String(number)), ("uploadId", uploadID)],
                              body: body, what: "uploading part \(number) of \(location)\(key)")
        guard let etag = answer.headers.first(name: "ETag") else {
            throw ObjectStoreError.service(status: 200, code: "NoETag", message: "part \(number) of \(location)\(key) has no ETag")
        }
        return etag
    }

    public func completeMultipartUpload(_ location: S3Location, key: String, uploadID: String, parts: [(number: Int, etag: String)]) throws {
        let body = "<CompleteMultipartUpload>" + parts.map { "<Part><PartNumber>\($0.number)</PartNumber><ETag>\(S3XML.escape($0.etag))</ETag></Part>" }.joined() + "</CompleteMultipartUpload>"
        let answer = try send("POST", location.bucket, key: location.prefix + key, query: [("uploadId", uploadID)], body: Array(body.utf8),
                              what: "completing the upload of \(location)\(key)")
        // S3 may answer 200 and still report an error in the body.
        let xml = Substring(String(decoding: answer.body, as: UTF8.self))
        if xml.contains("<Error>") {
            throw ObjectStoreError.service(status: 200, code: S3XML.value("Code", in: xml) ?? "Error", message: S3XML.value("Message", in: xml) ?? "")
        }
    }

    /// Uploads started under the location's prefix and `prefix` and neither completed nor
    /// aborted (a writer that crashed): key and upload id.
    public func incompleteUploads(_ location: S3Location, prefix: String = "") throws -> [(key: String, uploadID: String)] {
        var uploads: [(key: String, uploadID: String)] = []
        var markers: (key: String, upload: String)?
        repeat {
            var query = [("prefix", location.prefix + prefix), ("uploads", "")]
            if let markers { query += [("key-marker", markers.key), ("upload-id-marker", markers.upload)] }
            let answer = try send("GET", location.bucket, key: "", query: query, what: "listing the uploads under \(location)\(prefix)")
            let xml = Substring(String(decoding: answer.body, as: UTF8.self))
            for entry in S3XML.sections("Upload", in: xml) {
                guard let key = S3XML.value("Key", in: entry), let id = S3XML.value("UploadId", in: entry) else { continue }
                uploads.append((String(key.dropFirst(location.prefix.count)), id))
            }
            if S3XML.value("IsTruncated", in: xml) == "true", let key = S3XML.value("NextKeyMarker", in: xml), let id = S3XML.value("NextUploadIdMarker", in: xml) {
                markers = (key, id)
            } else {
                markers = nil
            }
        } while markers != nil
        return uploads
    }

    public func abortMultipartUpload(_ location: S3Location, key: String, uploadID: String) throws {
        _ = try send("DELETE", location.bucket, key: location.prefix + key, query: [("uploadId", uploadID)], what: "aborting the upload of \(location)\(key)")
    }

    // MARK: - Requests

    struct Answer {
        let headers: HTTPHeaders
        let body: [UInt8]
    }

    /// The URL and Host header of a request: path-style or virtual-hosted.
    func address(bucket: String, key: String) -> (url: String, host: String, path: String) {
        let scheme = endpoint.scheme!
        let host = endpoint.host!
        let port = endpoint.port.map { ":\($0)" } ?? ""
        let encodedKey = SigV4Signer.uriEncode(key, keepSlash: true)
        if configuration.pathStyle {
            let path = "/\(bucket)/\(encodedKey)"
            return ("\(scheme)://\(host)\(port)\(path)", host + port, path)
        }
        let path = "/\(encodedKey)"
        return ("\(scheme)://\(bucket).\(host)\(port)\(path)", "\(bucket).\(host)\(port)", path)
    }

    private func send(_ method: String, _ bucket: String, key: String, query: [(String, String)] = [], headers extra: [(String, String)] = [],
                      body: [UInt8] = [], what: String) throws -> Answer {
        var attempt = 1
        var delay = configuration.initialBackoff
        while true {
            do {
                return try sendOnce(method, bucket, key: key, query: query, headers: extra, body: body, what: what)
            } catch let error as ObjectStoreError where error.isRetryable && attempt < configuration.maxAttempts {
                log?("\(what) failed (\(error)); retrying in \(delay.nanoseconds / 1_000_000) ms")
                Thread.sleep(forTimeInterval: Double(delay.nanoseconds) / 1e9)
                delay = min(configuration.maxBackoff, delay * 2)
                attempt += 1
            }
        }
    }

    private func sendOnce(_ method: String, _ bucket: String, key: String, query: [(String, String)], headers extra: [(String, String)],
                          body: [UInt8], what: String) throws -> Answer {
        let (base, host, path) = address(bucket: bucket, key: key)
        let queryText = query.map { $0.1.isEmpty && $0.0 == "uploads" ? "uploads=" : "\(SigV4Signer.uriEncode($0.0))=\(SigV4Signer.uriEncode($0.1))" }.joined(separator: "&")
        let url = queryText.isEmpty ? base : base + "?" + queryText
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: host)
        // x-amz-* headers must be signed; the others (Range, If-None-Match) need not be.
        let signedExtra = extra.filter { $0.0.lowercased().hasPrefix("x-amz-") }.map { ($0.0.lowercased(), $0.1) }
        let signer = SigV4Signer(credentials: try credentials.credentials(http: http, timeout: configuration.requestTimeout), region: configuration.region)
        let signed = signer.sign(method: method, path: path, query: query, headers: [("host", host)] + signedExtra,
                                 payloadHash: SigV4Signer.payloadHash(body), date: Date())
        for (name, value) in signed { headers.add(name: name, value: value) }
        for (name, value) in extra { headers.add(name: name, value: value) }
        if !body.isEmpty || method == "PUT" || method == "POST" { headers.add(name: "Content-Length", value: String(body.count)) }
        let request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(url: url, method: HTTPMethod(rawValue: method), headers: headers, body: body.isEmpty ? nil : .bytes(body))
        } catch {
            throw ObjectStoreError.configuration("\(what): '\(url)' is not a valid URL")
        }
        let response: HTTPClient.Response
        do {
            response = try http.execute(request: request, deadline: .now() + configuration.requestTimeout).wait()
        } catch {
            throw ObjectStoreError.unreachable("\(what): \(configuration.endpoint) unreachable (\(error))")
        }
        var buffer = response.body ?? ByteBuffer()
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        let status = Int(response.status.code)
        if (200..<300).contains(status) { return Answer(headers: response.headers, body: bytes) }
        let xml = Substring(String(decoding: bytes.prefix(4000), as: UTF8.self))
        let code = S3XML.value("Code", in: xml) ?? (status == 404 ? "NotFound" : "HTTP\(status)")
        if status == 404 && (code == "NoSuchKey" || (method == "GET" && !key.isEmpty && code == "NotFound")) {
            throw ObjectStoreError.notFound("\(what.replacingOccurrences(of: "reading ", with: ""))")
        }
        throw ObjectStoreError.service(status: status, code: code, message: "\(what): \(S3XML.value("Message", in: xml) ?? response.status.reasonPhrase)")
    }
}
