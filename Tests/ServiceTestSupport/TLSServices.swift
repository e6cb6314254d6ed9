import Foundation

/// Certificates made by scripts/services/tls.sh in a temporary folder: a CA, a server
/// certificate for localhost and 127.0.0.1, a client certificate, and the bad ones (another CA,
/// a client certificate of that CA, a certificate for another host, an expired one).
public final class TestCertificates {
    public let directory: String
    public static var script: String { ClickHouseServer.packageRoot + "/scripts/services/tls.sh" }

    public init() throws {
        directory = NSTemporaryDirectory() + "sluice-certs-\(UUID().uuidString.prefix(8))"
        let result = try runCommand("/bin/bash", [Self.script, "certs", directory], timeout: 60)
        guard result.status == 0 else { throw TestFailure("tls.sh certs failed (run scripts/test, which installs openssl):\n\(result.output)") }
    }

    public func path(_ name: String) -> String { directory + "/" + name }
    public var ca: String { path("ca.pem") }
    public var otherCA: String { path("other-ca.pem") }
    public var serverCertificate: String { path("server.pem") }
    public var serverKey: String { path("server.key") }
    public var clientCertificate: String { path("client.pem") }
    public var clientKey: String { path("client.key") }

    deinit { try? FileManager.default.removeItem(atPath: directory) }
}

/// stunnel (Debian's stunnel4) terminating TLS on a free loopback port in front of a plaintext
/// service; with `clientCA`, clients must present a certificate that CA signed.
public final class TLSTerminator {
    public let port: Int
    private let directory: String

    public init(forwardingTo target: Int, certificate: String, key: String, clientCA: String? = nil) throws {
        port = freePort()
        directory = NSTemporaryDirectory() + "sluice-stunnel-\(UUID().uuidString.prefix(8))"
        let result = try runCommand("/bin/bash", [TestCertificates.script, "stunnel-start", directory, String(port), String(target), certificate, key] + (clientCA.map { [$0] } ?? []), timeout: 30)
        guard result.status == 0 else { throw TestFailure("stunnel did not start (run scripts/test, which installs stunnel4):\n\(result.output)") }
    }

    public func stop() {
        _ = try? runCommand("/bin/bash", [TestCertificates.script, "stunnel-stop", directory], timeout: 30)
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
