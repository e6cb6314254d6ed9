import NIOSSL
import ServiceTestSupport
@testable import TLSSupport
import XCTest

/// The one-line explanations of TLS failures, from BoringSSL's reason codes and from the
/// certificates a server presents (made by scripts/services/tls.sh).
final class TLSFailureTests: XCTestCase {
    nonisolated(unsafe) static var certificates: TestCertificates!
    override class func setUp() {
        super.setUp()
        certificates = try? TestCertificates()
    }
    override class func tearDown() { certificates = nil }

    private var settings: TLSSettings {
        var settings = TLSSettings(names: .init(trustFile: "trust_file", certificateFile: "cert_file", keyFile: "key_file",
                                                verifyHostname: "verify_hostname", insecure: "insecure"))
        settings.trustFile = "/etc/ca.pem"
        return settings
    }

    func testReasonCodesBecomeAdvice() {
        let endpoint = "https://db:8443"
        let verify = "Error: 268435581 error:1000007d:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED at x.cc:1"
        XCTAssertEqual(TLSFailure.explainBoringSSL(verify, endpoint: endpoint, settings: settings),
                       "TLS to https://db:8443: the server's certificate is not signed by any CA in /etc/ca.pem (set trust_file to the CA that issued it)")
        let required = "error:1000045c:SSL routines:OPENSSL_internal:TLSV1_ALERT_CERTIFICATE_REQUIRED at y.cc:2"
        XCTAssertEqual(TLSFailure.explainBoringSSL(required, endpoint: endpoint, settings: settings),
                       "TLS to https://db:8443: the server requires a client certificate (set cert_file and key_file)")
        var withCertificate = settings
        withCertificate.certificateFile = "/c.pem"
        withCertificate.keyFile = "/c.key"
        let unknownCA = "error:10000418:SSL routines:OPENSSL_internal:TLSV1_ALERT_UNKNOWN_CA at z.cc:3"
        XCTAssertEqual(TLSFailure.explainBoringSSL(unknownCA, endpoint: endpoint, settings: withCertificate),
                       "TLS to https://db:8443: the server refused the client certificate in /c.pem (alert unknown ca; is it issued by a CA the server trusts?)")
        XCTAssertEqual(TLSFailure.explainBoringSSL("error:100000f7:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER at a.cc:4", endpoint: endpoint, settings: settings),
                       "TLS to https://db:8443: the server did not answer in TLS (is this a plaintext port?)")
        XCTAssertEqual(TLSFailure.reasons(in: "a:OPENSSL_internal:FIRST at b, c:OPENSSL_internal:SECOND_ONE at d"), "FIRST, SECOND_ONE")
        XCTAssertEqual(TLSFailure.explain(NIOSSLExtraError.failedToValidateHostname, endpoint: "pulsar+ssl://broker:6651", settings: settings)?.message,
                       "TLS to pulsar+ssl://broker:6651: the server's certificate does not name host 'broker' (use the host its certificate was issued for, or set verify_hostname: false knowingly)")
        XCTAssertEqual(TLSFailure.explain(NIOSSLError.uncleanShutdown, endpoint: endpoint, settings: settings)?.isPermanent, false, "a server restarting")
        XCTAssertNil(TLSFailure.explain(CancellationError(), endpoint: endpoint, settings: settings))
    }

    func testPresentedChainsAreJudged() throws {
        let certs = try XCTUnwrap(Self.certificates, "tls.sh certs failed")
        let expired = try NIOSSLCertificate.fromPEMFile(certs.path("expired.pem"))
        XCTAssertEqual(TLSFailure.describe(chain: expired, endpoint: "e", settings: settings, now: time(nil)),
                       "TLS to e: the server's certificate expired on 2020-02-01T00:00:00Z (renew it on the server)")
        let server = try NIOSSLCertificate.fromPEMFile(certs.serverCertificate)
        XCTAssertEqual(TLSFailure.describe(chain: server, endpoint: "e", settings: settings, now: 0),
                       "TLS to e: the server's certificate is not valid before \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(server[0].notValidBefore)))) (check the server's certificate, or this machine's clock)")
        XCTAssertEqual(TLSFailure.describe(chain: server, endpoint: "e", settings: settings, now: time(nil)),
                       "TLS to e: the server's certificate (CN=localhost, names localhost,127.0.0.1) is not signed by any CA in /etc/ca.pem (set trust_file to the CA that issued it)")
    }

    func testSettingsProblemsNameTheSettingAndNeverTheContent() throws {
        let certs = try XCTUnwrap(Self.certificates, "tls.sh certs failed")
        var settings = self.settings
        settings.trustFile = certs.ca
        settings.certificateFile = certs.clientCertificate
        XCTAssertEqual(settings.structuralProblems().map(\.option), ["key_file"])
        settings.keyFile = certs.clientKey
        XCTAssertTrue(settings.structuralProblems().isEmpty)
        XCTAssertTrue(settings.fileProblems().isEmpty)
        XCTAssertNoThrow(try settings.makeContext())
        settings.keyFile = certs.clientCertificate  // a certificate where the key should be
        XCTAssertEqual(settings.fileProblems().map(\.message), ["key_file \(certs.clientCertificate) holds no unencrypted PEM private key"])
        settings.keyFile = "/nonexistent/key.pem"
        XCTAssertEqual(settings.fileProblems().map(\.message), ["key_file /nonexistent/key.pem cannot be read: No such file or directory"])
        settings.trustFile = certs.clientKey  // a key where certificates should be
        XCTAssertTrue(settings.fileProblems().contains { $0.message == "trust_file \(certs.clientKey) holds no PEM certificate" })
        XCTAssertThrowsError(try settings.makeContext()) { error in
            XCTAssertFalse("\(error)".contains("PRIVATE KEY"))
        }
        XCTAssertNil(settings.insecureWarning(endpoint: "x"))
        settings.verifyHostname = false
        XCTAssertEqual(settings.insecureWarning(endpoint: "x"), "verify_hostname is off: any certificate from a trusted CA is accepted for x, whatever host it names")
        settings.verifyCertificate = false
        XCTAssertTrue(settings.insecureWarning(endpoint: "x")!.hasPrefix("insecure is set"))
        XCTAssertNil(TLSSettings.serverName(forHost: "127.0.0.1"))
        XCTAssertNil(TLSSettings.serverName(forHost: "::1"))
        XCTAssertEqual(TLSSettings.serverName(forHost: "db.example.com"), "db.example.com")
    }
}
