import Foundation
import XCTest

/// A small synchronous HTTP client for the admin API tests (no dependency on the host's code).
struct AdminHTTP {
    let base: String
    var token: String?

    func request(_ method: String, _ path: String, json: [String: Any]? = nil, timeout: TimeInterval = 60) throws -> (status: Int, body: String) {
        var request = URLRequest(url: URL(string: base + path)!, timeoutInterval: timeout)
        request.httpMethod = method
        if let token { request.setValue("Bearer " + token, forHTTPHeaderField: "Authorization") }
        if let json { request.httpBody = try JSONSerialization.data(withJSONObject: json) }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (Int, String)?
        nonisolated(unsafe) var failure: Error?
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let error { failure = error } else {
                result = ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data ?? Data(), as: UTF8.self))
            }
            done.signal()
        }.resume()
        done.wait()
        if let failure { throw failure }
        return result!
    }

    func json(_ method: String, _ path: String, json: [String: Any]? = nil) throws -> [String: Any] {
        let (status, body) = try request(method, path, json: json)
        guard (200..<300).contains(status) else { throw TestFailure("\(method) \(path) answered \(status): \(body)") }
        return try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] ?? [:]
    }

    /// Waits until the admin API answers /healthz.
    func waitUntilUp(timeout: TimeInterval = 30) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let (status, _) = try? AdminHTTP(base: base).request("GET", "/healthz", timeout: 2), status == 200 { return }
            usleep(50_000)
        }
        throw TestFailure("the admin API at \(base) never came up")
    }
}

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Every value committed by file sinks in several folders.
func committedValues(in directories: [String]) throws -> [Int64] {
    try directories.filter { FileManager.default.fileExists(atPath: $0) }.flatMap { try committedValues(in: $0) }
}
