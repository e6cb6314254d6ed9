import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Glibc
import TLSSupport

/// What went wrong talking to ClickHouse.
enum ClickHouseError: Error, CustomStringConvertible {
    /// No answer: connection refused or reset, timeout, DNS. Always worth retrying.
    case unreachable(String)
    /// The server answered with an error. `code` is ClickHouse's exception code when the body
    /// carries one ("Code: 60. ...").
    case server(status: Int, code: Int?, message: String)
    /// A local problem (compression, a staging file).
    case local(String)
    /// TLS failed in a way the same settings cannot fix (a certificate that does not verify, a
    /// refused client certificate): the message says what to change.
    case tls(String)

    var description: String {
        switch self {
        case .unreachable(let why): return why
        case .server(let status, _, let message): return "HTTP \(status): \(message)"
        case .local(let why): return why
        case .tls(let why): return why
        }
    }

    /// Connection errors and 5xx answers are retried; 4xx answers (bad credentials, unknown
    /// table or column, syntax) and errors that cannot heal by themselves are not.
    var isRetryable: Bool {
        switch self {
        case .unreachable: return true
        case .local, .tls: return false
        case .server(let status, let code, _):
            guard status >= 500 else { return false }
            if let code, ClickHouseError.permanentCodes.contains(code) { return false }
            return true
        }
    }

    /// Exception codes that a 5xx answer may carry but that no retry can fix: parse and type
    /// errors, unknown identifiers, access rights.
    static let permanentCodes: Set<Int> = [6, 16, 27, 33, 36, 43, 44, 46, 47, 48, 53, 60, 62, 70, 81, 115, 117, 192, 193, 194, 195, 497, 516]
}

/// A synchronous ClickHouse HTTP client for one sink instance: keep-alive connections on its
/// own one-thread event loop group, basic authentication, per-query settings, optional gzip
/// request compression, timeouts, and retries with exponential backoff.
///
/// Methods block the calling thread (the sink's operator thread); never call them from the
/// client's own event loop. `shutdown` must be called once before the client is dropped.
final class ClickHouseClient {
    struct Options {
        /// scheme://host:port[/path], without credentials.
        var url: String
        var user: String
        var password: String?
        var database: String
        /// Sent with every query as URL parameters.
        var settings: [String: String] = [:]
        var gzip = false
        var connectTimeout: TimeInterval = 5
        var requestTimeout: TimeInterval = 300
        /// How an https:// URL is verified, and the client certificate; unused for http://.
        var tls = TLSSettings(names: .clickHouse)
        /// The client certificate is the user's credential (ClickHouse's certificate
        /// authentication) instead of a password.
        var certificateAuthentication = false
    }

    struct RetryPolicy {
        var initialDelay: TimeInterval = 0.1
        var maxDelay: TimeInterval = 10
        var multiplier: Double = 2
        /// nil: retry forever.
        var maxAttempts: Int?
    }

    let options: Options
    private let group: MultiThreadedEventLoopGroup
    private let http: HTTPClient
    /// The headers that say who the client is, sent with every request.
    let identityHeaders: [(String, String)]
    private var isShutDown = false

    /// Throws when the TLS settings cannot be used (a missing file).
    init(options: Options) throws {
        var configuration = HTTPClient.Configuration()
        if options.usesTLS {
            do { configuration.tlsConfiguration = try options.tls.clientConfiguration() } catch {
                throw ClickHouseError.tls("TLS to \(options.url): \(error)")
            }
        }
        self.options = options
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        configuration.timeout = .init(connect: .milliseconds(Int64(options.connectTimeout * 1000)),
                                      read: .milliseconds(Int64(options.requestTimeout * 1000)))
        configuration.connectionPool = .init(idleTimeout: .seconds(20))
        // A server that is shutting down gracefully serves its open keep-alive connections
        // until the client closes them (ClickHouse 18.x); recycling connections lets it drain.
        configuration.maximumUsesPerConnection = 20
        // Our own backoff retries refused connections, and logs what it waits for.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.decompression = .disabled
        configuration.redirectConfiguration = .disallow
        http = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: configuration)
        identityHeaders = Self.identityHeaders(options)
    }

    /// Basic authentication with user and password; or, with `certificateAuthentication`,
    /// ClickHouse's certificate authentication (22.3 and later): the user named, the client
    /// certificate of the TLS connection as the proof, no password sent.
    static func identityHeaders(_ options: Options) -> [(String, String)] {
        if options.certificateAuthentication {
            return [("X-ClickHouse-User", options.user), ("X-ClickHouse-SSL-Certificate-Auth", "on")]
        }
        guard !options.user.isEmpty || options.password != nil else { return [] }
        let credentials = "\(options.user):\(options.password ?? "")"
        return [("Authorization", "Basic " + Data(credentials.utf8).base64EncodedString())]
    }

    deinit { if !isShutDown { shutdown() } }

    func shutdown() {
        guard !isShutDown else { return }
        isShutDown = true
        try? http.syncShutdown()
        try? group.syncShutdownGracefully()
    }

    /// The URL for logs: never carries credentials.
    var displayURL: String { options.url }

    // MARK: - Queries

    /// Runs one statement (sent as the request body) and returns the answer's text.
    @discardableResult
    func query(_ sql: String, settings: [String: String] = [:]) throws -> String {
        let answer = try execute(parameters: settings, body: Array(sql.utf8), compress: false)
        return String(decoding: answer, as: UTF8.self)
    }

    /// Sends `INSERT INTO ... FORMAT Native` with one Native block as the body.
    func insert(_ sql: String, block: ArraySlice<UInt8>, settings: [String: String]) throws {
        var parameters = settings
        parameters["query"] = sql
        _ = try execute(parameters: parameters, body: block, compress: options.gzip)
    }

    /// Sends `INSERT INTO ... FORMAT Native` with a body of `length` bytes that `read` fills
    /// chunk by chunk (`read(offset, buffer)` returns the count read; a staged block read from
    /// local disk or object storage), compressed chunk by chunk with gzip: memory does not grow
    /// with the block. The reads block, so they run on a thread of their own, never on the
    /// event loop.
    func insert(_ sql: String, length: Int, settings: [String: String], chunkSize: Int = 1 << 20,
                read: @escaping @Sendable (Int, UnsafeMutableRawBufferPointer) throws -> Int) throws {
        var parameters = settings
        parameters["query"] = sql
        let loop = group.next()
        let gzip = options.gzip
        let body = HTTPClient.Body.stream(contentLength: gzip ? nil : Int64(length)) { writer in
            let promise = loop.makePromise(of: Void.self)
            DispatchQueue.global().async {
                do {
                    let deflater = gzip ? try GzipStream() : nil
                    defer { deflater?.end() }
                    var chunk = [UInt8](repeating: 0, count: min(chunkSize, max(length, 1)))
                    var done = 0
                    while done < length {
                        let want = min(chunk.count, length - done)
                        let got = try chunk.withUnsafeMutableBytes { try read(done, UnsafeMutableRawBufferPointer(rebasing: $0[0..<want])) }
                        guard got > 0 else { throw ClickHouseError.local("the staged block ended after \(done) of \(length) bytes") }
                        let part: ByteBuffer
                        if let deflater {
                            part = ByteBuffer(bytes: try chunk.withUnsafeBytes { try deflater.compress(UnsafeRawBufferPointer(rebasing: $0[0..<got]), finish: false) })
                        } else {
                            part = ByteBuffer(bytes: chunk[0..<got])
                        }
                        try writer.write(.byteBuffer(part)).wait()
                        done += got
                    }
                    if let deflater {
                        let tail = try deflater.compress(UnsafeRawBufferPointer(start: nil, count: 0), finish: true)
                        try writer.write(.byteBuffer(ByteBuffer(bytes: tail))).wait()
                    }
                    promise.succeed(())
                } catch {
                    promise.fail(error)
                }
            }
            return promise.futureResult
        }
        _ = try execute(parameters: parameters, body: body, contentLength: gzip ? nil : length, compressedHeader: gzip)
    }

    /// Rows of a TabSeparated answer, unescaped.
    func rows(_ sql: String, settings: [String: String] = [:]) throws -> [[String]] {
        let text = try query(sql + " FORMAT TabSeparated", settings: settings)
        return text.split(separator: "\n", omittingEmptySubsequences: true).map { line in
            line.split(separator: "\t", omittingEmptySubsequences: false).map { ClickHouseClient.unescapeTSV(String($0)) }
        }
    }

    // MARK: - Retrying

    /// Runs `body` until it succeeds, retrying retryable failures with exponential backoff.
    /// `waiting(error, attempt, delay)` is called before each sleep, to log what is awaited.
    func retrying<T>(_ policy: RetryPolicy, deadline: Date? = nil,
                     waiting: (ClickHouseError, Int, TimeInterval) -> Void,
                     _ body: (_ attempt: Int) throws -> T) throws -> T {
        var attempt = 1
        var delay = policy.initialDelay
        while true {
            do {
                return try body(attempt)
            } catch let error as ClickHouseError where error.isRetryable {
                if let max = policy.maxAttempts, attempt >= max { throw error }
                if let deadline, Date().addingTimeInterval(delay) > deadline { throw error }
                waiting(error, attempt, delay)
                Thread.sleep(forTimeInterval: delay)
                delay = min(policy.maxDelay, delay * policy.multiplier)
                attempt += 1
            }
        }
    }

    // MARK: - HTTP

    private func execute<Body: RandomAccessCollection & Sendable>(parameters: [String: String], body: Body, compress: Bool) throws -> [UInt8] where Body.Element == UInt8 {
        if compress {
            return try execute(parameters: parameters, body: .bytes(try Gzip.compress(body)), contentLength: nil, compressedHeader: true)
        }
        return try execute(parameters: parameters, body: .bytes(body), contentLength: body.count, compressedHeader: false)
    }

    private func execute(parameters: [String: String], body requestBody: HTTPClient.Body, contentLength: Int?, compressedHeader: Bool) throws -> [UInt8] {
        var all = options.settings
        for (k, v) in parameters { all[k] = v }
        all["database"] = options.database
        let url = ClickHouseClient.url(options.url, parameters: all)
        var headers = HTTPHeaders()
        for (name, value) in identityHeaders { headers.add(name: name, value: value) }
        headers.add(name: "Content-Type", value: "application/octet-stream")
        if compressedHeader { headers.add(name: "Content-Encoding", value: "gzip") }
        let request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(url: url, method: .POST, headers: headers, body: requestBody)
        } catch {
            throw ClickHouseError.local("invalid ClickHouse URL \(options.url): \(error)")
        }
        let response: HTTPClient.Response
        do {
            response = try http.execute(request: request, deadline: .now() + .milliseconds(Int64(options.requestTimeout * 1000))).wait()
        } catch let error as ClickHouseError {
            throw error
        } catch {
            if options.usesTLS, let explained = TLSFailure.explain(error, endpoint: displayURL, settings: options.tls) {
                guard explained.isPermanent else { throw ClickHouseError.unreachable(explained.message) }
                throw ClickHouseError.tls(diagnose(error) ?? explained.message)
            }
            throw ClickHouseError.unreachable("ClickHouse at \(displayURL) unreachable (\(ClickHouseClient.describeTransportError(error)))")
        }
        var bodyBuffer = response.body ?? ByteBuffer()
        let bytes = bodyBuffer.readBytes(length: bodyBuffer.readableBytes) ?? []
        guard response.status.code == 200 else {
            let text = String(decoding: bytes.prefix(4000), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw ClickHouseError.server(status: Int(response.status.code), code: ClickHouseClient.exceptionCode(text),
                                         message: ClickHouseClient.redact(text, password: options.password))
        }
        return bytes
    }

    /// Why the server's certificate did not verify (expired, unknown CA), from its chain; nil
    /// when it cannot tell or the failure is of another kind.
    private func diagnose(_ error: Error) -> String? {
        guard TLSFailure.isVerificationFailure(error), let url = URL(string: options.url), let host = url.host else { return nil }
        let probe = TLSFailure.diagnoseVerification(host: host, port: url.port ?? 443, endpoint: displayURL,
                                                    settings: options.tls, on: group.next())
        return (try? probe.wait()) ?? nil
    }

    static func url(_ base: String, parameters: [String: String]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let query = parameters.sorted { $0.key < $1.key }.map { key, value in
            "\(key.addingPercentEncoding(withAllowedCharacters: allowed) ?? key)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)"
        }.joined(separator: "&")
        var trimmed = base
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        return trimmed + "/?" + query
    }

    /// "Code: 60, e.displayText() = ..." (18.x) or "Code: 60. DB::Exception: ..." (newer).
    static func exceptionCode(_ text: String) -> Int? {
        guard let range = text.range(of: "Code: ") else { return nil }
        return Int(text[range.upperBound...].prefix { $0.isNumber })
    }

    static func redact(_ text: String, password: String?) -> String {
        guard let password, !password.isEmpty else { return text }
        return text.replacingOccurrences(of: password, with: "******")
    }

    /// A short reason for logs: "connection refused", "timed out", "connection reset", ...
    static func describeTransportError(_ error: Error) -> String {
        let text = String(describing: error)
        let lower = text.lowercased()
        if lower.contains("refused") { return "connection refused" }
        if lower.contains("connecttimeout") || lower.contains("connect timeout") { return "connect timed out" }
        if lower.contains("readtimeout") || lower.contains("deadlineexceeded") || lower.contains("timeout") { return "timed out" }
        if lower.contains("remoteconnectionclosed") || lower.contains("reset") || lower.contains("eof") { return "connection closed by the server" }
        return text.count > 200 ? String(text.prefix(200)) + "..." : text
    }

    static func unescapeTSV(_ text: String) -> String {
        guard text.contains("\\") else { return text }
        var out = "", escaped = false
        for ch in text {
            if escaped {
                switch ch {
                case "t": out.append("\t")
                case "n": out.append("\n")
                case "r": out.append("\r")
                case "0": out.append("\0")
                case "b": out.append("\u{8}")
                case "f": out.append("\u{c}")
                default: out.append(ch)
                }
                escaped = false
            } else if ch == "\\" {
                escaped = true
            } else {
                out.append(ch)
            }
        }
        return out
    }

    /// `name` as a backquoted identifier.
    static func quoteIdentifier(_ name: String) -> String {
        "`" + name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "`", with: "\\`")
            .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t") + "`"
    }

    /// `text` as a single-quoted string literal.
    static func quoteString(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
            .replacingOccurrences(of: "\n", with: "\\n") + "'"
    }
}

extension ClickHouseClient.Options {
    var usesTLS: Bool { url.lowercased().hasPrefix("https://") }
}

extension TLSSettings.OptionNames {
    /// The names of the sink's `tls` block.
    static let clickHouse = TLSSettings.OptionNames(
        trustFile: "tls.ca_file", certificateFile: "tls.cert_file", keyFile: "tls.key_file",
        verifyHostname: "tls.verify_hostname", insecure: "tls.insecure_skip_verify")
}
