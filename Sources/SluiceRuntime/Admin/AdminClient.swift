import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Talks to a running pipeline's admin API, for the CLI and the supervisor.
///
/// Over AsyncHTTPClient, which the executable carries for S3 already, rather than URLSession:
/// FoundationNetworking brings libcurl and some twenty libraries behind it (GnuTLS, Kerberos,
/// LDAP, ...) into every sluice process, the supervisor included, for a few plain HTTP calls on
/// loopback.
struct AdminClient {
    let baseURL: String
    let token: String

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Sends a request and returns the answer's status and body. Errors say whether the
    /// pipeline is not running, the token is wrong, or what the pipeline answered.
    func call(_ method: String, _ path: String, body: [String: Any]? = nil, timeout: TimeInterval = 30) throws -> (status: Int, body: Data) {
        var headers = HTTPHeaders([("Authorization", "Bearer " + token)])
        var payload: HTTPClient.Body?
        if let body {
            payload = .data(try JSONSerialization.data(withJSONObject: body))
            headers.add(name: "Content-Type", value: "application/json")
        }
        let request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(url: baseURL + path, method: HTTPMethod(rawValue: method), headers: headers, body: payload)
        } catch {
            throw Failure(description: "bad admin address \(baseURL)")
        }
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .milliseconds(Int64(min(timeout, 5) * 1000)))
        // A refused connection means the pipeline is not running: say so at once, not after
        // retrying until the connect timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.redirectConfiguration = .disallow
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        defer { try? client.syncShutdown() }
        let response: HTTPClient.Response
        do {
            response = try client.execute(request: request, deadline: .now() + .milliseconds(Int64(timeout * 1000))).wait()
        } catch {
            throw Failure(description: "cannot reach the pipeline's admin API at \(baseURL) (\(Self.reason(error, timeout: timeout))); is the pipeline running with an admin address?")
        }
        let status = Int(response.status.code)
        if status == 401 { throw Failure(description: "the admin API at \(baseURL) refused the token; check SLUICE_ADMIN_TOKEN or --token-file") }
        var answer = response.body ?? ByteBuffer()
        return (status, Data(answer.readBytes(length: answer.readableBytes) ?? []))
    }

    /// Why a request failed, in a few words: NIO's own descriptions name its internals.
    private static func reason(_ error: Error, timeout: TimeInterval) -> String {
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)).lowercased() }
        if let http = error as? HTTPClientError, [.deadlineExceeded, .readTimeout, .connectTimeout].contains(http) {
            // Whole seconds as such; `formatted()` would page in ICU for a number.
            return "no answer within \(timeout == timeout.rounded() ? String(Int(timeout)) : String(timeout)) s"
        }
        return "\(error)"
    }

    /// The answer's JSON object, or a failure carrying the API's error message.
    func json(_ method: String, _ path: String, body: [String: Any]? = nil, timeout: TimeInterval = 30) throws -> [String: Any] {
        let (status, data) = try call(method, path, body: body, timeout: timeout)
        let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        guard (200..<300).contains(status) else {
            throw Failure(description: object["error"] as? String ?? "the admin API answered \(status): \(String(decoding: data, as: UTF8.self))")
        }
        return object
    }
}
