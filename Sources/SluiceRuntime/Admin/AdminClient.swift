import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Talks to a running pipeline's admin API, for the CLI and the supervisor.
struct AdminClient {
    let baseURL: String
    let token: String

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Sends a request and returns the decoded JSON (or text) answer. Errors say whether the
    /// pipeline is not running, the token is wrong, or what the pipeline answered.
    func call(_ method: String, _ path: String, body: [String: Any]? = nil, timeout: TimeInterval = 30) throws -> (status: Int, body: Data) {
        guard let url = URL(string: baseURL + path) else { throw Failure(description: "bad admin address \(baseURL)") }
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = method
        request.setValue("Bearer " + token, forHTTPHeaderField: "Authorization")
        if let body {
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let done = DispatchSemaphore(value: 0)
        // nonisolated(unsafe): written once by URLSession's completion handler before it signals
        // `done`, read only after `done.wait()`: the semaphore orders the two.
        nonisolated(unsafe) var result: (Int, Data)?
        nonisolated(unsafe) var failure: Error?
        let task = URLSession.shared.dataTask(with: request) { data, response, error in
            if let error { failure = error } else { result = ((response as? HTTPURLResponse)?.statusCode ?? 0, data ?? Data()) }
            done.signal()
        }
        task.resume()
        done.wait()
        if let failure {
            throw Failure(description: "cannot reach the pipeline's admin API at \(baseURL) (\(failure.localizedDescription)); is the pipeline running with an admin address?")
        }
        let (status, data) = result!
        if status == 401 { throw Failure(description: "the admin API at \(baseURL) refused the token; check SLUICE_ADMIN_TOKEN or --token-file") }
        return (status, data)
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
