import Foundation
import Glibc

/// An S3-compatible server (moto_server, through scripts/services/s3.sh) on a free loopback
/// port, in memory. Fails (never skips) when scripts/test has not installed it.
public final class ObjectStoreServer {
    public let port: Int
    public let directory: String
    public var endpoint: String { "http://127.0.0.1:\(port)" }
    static var script: String { ClickHouseServer.packageRoot + "/scripts/services/s3.sh" }

    /// `environment` goes to moto (`INITIAL_NO_AUTH_ACTION_COUNT=0` turns signature checks on).
    public init(environment: [String: String] = [:]) throws {
        port = freePort()
        directory = NSTemporaryDirectory() + "sluice-s3-\(UUID().uuidString.prefix(8))"
        let settings = environment.map { "\($0.key)=\($0.value)" }
        let result = try runCommand("/usr/bin/env", settings + ["/bin/bash", Self.script, "start", directory, String(port)], timeout: 60)
        guard result.status == 0 else {
            throw TestFailure("moto_server did not start (run scripts/test, which installs it): \(result.output)")
        }
    }

    deinit { stop() }

    public func stop() {
        _ = try? runCommand("/bin/bash", [Self.script, "stop", directory], timeout: 30)
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The server's pid, to pause it (SIGSTOP: it stops answering but keeps its objects).
    public var pid: Int32 { Int32((try? String(contentsOfFile: directory + "/pid", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0 }

    /// Creates a bucket (moto accepts unsigned requests).
    public func createBucket(_ name: String) throws {
        let result = try runCommand("/usr/bin/curl", ["-sf", "-X", "PUT", "\(endpoint)/\(name)"], timeout: 30)
        guard result.status == 0 else { throw TestFailure("could not create bucket \(name): \(result.output)") }
    }

    /// Keys under `prefix` of `bucket` (path-style ListObjectsV2, unsigned).
    public func keys(_ bucket: String, prefix: String = "") throws -> [String] {
        var keys: [String] = []
        var token: String?
        repeat {
            var url = "\(endpoint)/\(bucket)?list-type=2&prefix=\(prefix.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? prefix)"
            if let token { url += "&continuation-token=\(token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? token)" }
            let result = try runCommand("/usr/bin/curl", ["-sf", url], timeout: 30)
            guard result.status == 0 else { throw TestFailure("could not list \(bucket): \(result.output)") }
            let xml = result.stdout
            keys += Self.values("Key", in: xml)
            token = Self.values("IsTruncated", in: xml).first == "true" ? Self.values("NextContinuationToken", in: xml).first : nil
        } while token != nil
        return keys
    }

    /// Keys of multipart uploads started in `bucket` and neither completed nor aborted.
    public func incompleteUploads(_ bucket: String) throws -> [String] {
        let result = try runCommand("/usr/bin/curl", ["-sf", "\(endpoint)/\(bucket)?uploads"], timeout: 30)
        guard result.status == 0 else { throw TestFailure("could not list the uploads of \(bucket): \(result.output)") }
        return Self.values("Key", in: result.stdout)
    }

    private static func values(_ name: String, in xml: String) -> [String] {
        xml.components(separatedBy: "<\(name)>").dropFirst().compactMap { $0.components(separatedBy: "</\(name)>").first }
    }
}
