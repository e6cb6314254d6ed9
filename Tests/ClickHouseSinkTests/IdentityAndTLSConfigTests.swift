import Foundation
@testable import ClickHouseSink
import PluginKit
import XCTest

/// Who the sink says it is, and what the `tls` block accepts.
final class IdentityAndTLSConfigTests: XCTestCase {
    private func config(_ json: String) throws -> ClickHouseSink.Config {
        try JSONDecoder().decode(ClickHouseSink.Config.self, from: Data(json.utf8))
    }

    func testPasswordOrCertificateIdentifiesTheUser() {
        var options = ClickHouseClient.Options(url: "https://db:8443", user: "ingest", password: "pw", database: "default")
        XCTAssertEqual(ClickHouseClient.identityHeaders(options).map(\.0), ["Authorization"])
        XCTAssertEqual(ClickHouseClient.identityHeaders(options).first?.1, "Basic " + Data("ingest:pw".utf8).base64EncodedString())
        options.password = nil
        options.certificateAuthentication = true
        XCTAssertEqual(ClickHouseClient.identityHeaders(options).map { "\($0.0): \($0.1)" },
                       ["X-ClickHouse-User: ingest", "X-ClickHouse-SSL-Certificate-Auth: on"])
    }

    func testTLSBlockRules() throws {
        XCTAssertNoThrow(try ClickHouseSink.validate(config(#"{"url":"https://db:8443","table":"t","tls":{"ca_file":"/x/ca.pem","cert_file":"/x/c.pem","key_file":"/x/c.key","certificate_authentication":true}}"#)))
        func refusal(_ json: String) -> String {
            do { try ClickHouseSink.validate(config(json)); return "accepted" } catch { return "\(error)" }
        }
        XCTAssertEqual(refusal(#"{"url":"http://db:8123","table":"t","tls":{"ca_file":"/x/ca.pem"}}"#),
                       "tls settings are given but url http://db:8123 is plaintext: use https://")
        XCTAssertEqual(refusal(#"{"url":"https://db:8443","table":"t","tls":{"cert_file":"/x/c.pem"}}"#),
                       "tls.cert_file is set but tls.key_file is not: a client certificate needs both")
        XCTAssertEqual(refusal(#"{"url":"https://db:8443","table":"t","tls":{"certificate_authentication":true}}"#),
                       "tls.certificate_authentication needs tls.cert_file and tls.key_file: the certificate is the credential")
        XCTAssertEqual(refusal(#"{"url":"https://db:8443","table":"t","password":"p","tls":{"cert_file":"/c","key_file":"/k","certificate_authentication":true}}"#),
                       "tls.certificate_authentication sends no password: remove the password")
        // Files are read when connecting, not here.
        XCTAssertEqual(refusal(#"{"url":"https://db:8443","table":"t","tls":{"ca_file":"/nonexistent/ca.pem"}}"#), "accepted")
    }
}
