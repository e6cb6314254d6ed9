import NIOCore
import NIOEmbedded
@testable import PulsarClient
import XCTest

/// What a connection sends to authenticate: the method and credentials in CONNECT (with the
/// feature flag that lets the broker challenge), and the same credentials, current at that
/// moment, in answer to AUTH_CHALLENGE.
final class AuthenticationTests: XCTestCase {
    private func connection(_ authentication: PulsarAuthentication) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        var settings = PulsarChannelHandler.Settings()
        settings.authentication = authentication
        let handler = PulsarChannelHandler(settings: settings, eventLoop: channel.eventLoop, closeFuture: channel.closeFuture)
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6650)).wait()
        return channel
    }

    private func command(_ type: Pulsar_Proto_BaseCommand.TypeEnum, _ fill: (inout Pulsar_Proto_BaseCommand) -> Void = { _ in }) -> PulsarFrame {
        var command = Pulsar_Proto_BaseCommand()
        command.type = type
        fill(&command)
        return PulsarFrame(command: command)
    }

    func testTokenGoesInConnectAndInTheAnswerToAChallenge() throws {
        let channel = try connection(.token("t-1"))
        let connect = try XCTUnwrap(channel.readOutbound(as: PulsarFrame.self)).command
        XCTAssertEqual(connect.type, .connect)
        XCTAssertEqual(connect.connect.authMethodName, "token")
        XCTAssertEqual(String(decoding: connect.connect.authData, as: UTF8.self), "t-1")
        XCTAssertTrue(connect.connect.featureFlags.supportsAuthRefresh)

        try channel.writeInbound(command(.connected) { $0.connected.serverVersion = "test" })
        try channel.writeInbound(command(.authChallenge) {
            $0.authChallenge.challenge.authMethodName = "token"
            $0.authChallenge.challenge.authData = Data("refresh".utf8)
        })
        let answer = try XCTUnwrap(channel.readOutbound(as: PulsarFrame.self)).command
        XCTAssertEqual(answer.type, .authResponse)
        XCTAssertEqual(answer.authResponse.response.authMethodName, "token")
        XCTAssertEqual(String(decoding: answer.authResponse.response.authData, as: UTF8.self), "t-1")
        _ = try? channel.finish()
    }

    func testClientCertificateAuthenticationNamesTheMethodOnly() throws {
        let channel = try connection(.tlsCertificate)
        let connect = try XCTUnwrap(channel.readOutbound(as: PulsarFrame.self)).command
        XCTAssertEqual(connect.connect.authMethodName, "tls")
        XCTAssertTrue(connect.connect.authData.isEmpty)
        _ = try? channel.finish()
    }

    func testNoAuthenticationSendsNoMethod() throws {
        let channel = try connection(.none)
        let connect = try XCTUnwrap(channel.readOutbound(as: PulsarFrame.self)).command
        XCTAssertFalse(connect.connect.hasAuthMethodName)
        XCTAssertFalse(connect.connect.hasAuthData)
        _ = try? channel.finish()
    }

    func testOAuth2CredentialsFileProblemsAreOneLineWithoutTheSecret() throws {
        let dir = NSTemporaryDirectory() + "sluice-oauth2-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertThrowsError(try OAuth2TokenSource(configuration: .init(issuerURL: "https://issuer", credentialsFile: dir + "/missing.json"))) { error in
            XCTAssertTrue("\(error)".hasPrefix("oauth2: cannot read the credentials file \(dir)/missing.json"), "\(error)")
        }
        try #"{"client_id":"a","client_secret":"hidden-value""#.write(toFile: dir + "/broken.json", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try OAuth2TokenSource(configuration: .init(issuerURL: "https://issuer", credentialsFile: dir + "/broken.json"))) { error in
            XCTAssertEqual("\(error)", "oauth2: the credentials file \(dir)/broken.json is not JSON with client_id and client_secret")
        }
        try #"{"client_id":"a","client_secret":"hidden-value"}"#.write(toFile: dir + "/no-issuer.json", atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try OAuth2TokenSource(configuration: .init(issuerURL: nil, credentialsFile: dir + "/no-issuer.json"))) { error in
            XCTAssertTrue("\(error)".contains("no issuer_url"), "\(error)")
            XCTAssertFalse("\(error)".contains("hidden-value"))
        }
        XCTAssertEqual(OAuth2TokenSource.formEncode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9")
    }
}

/// Where a lookup answer sends a client, over TLS and over plaintext.
final class LookupAnswerTests: XCTestCase {
    private func answer(_ fill: (inout Pulsar_Proto_CommandLookupTopicResponse) -> Void) -> Pulsar_Proto_CommandLookupTopicResponse {
        var r = Pulsar_Proto_CommandLookupTopicResponse()
        r.response = .connect
        fill(&r)
        return r
    }

    func testTLSFollowsOnlyTheTLSAddress() throws {
        let tls = try ServiceURL("pulsar+ssl://cluster:6651")
        let both = answer { $0.brokerServiceURL = "pulsar://broker-2:6650"; $0.brokerServiceURLTls = "pulsar+ssl://broker-2:6651" }
        XCTAssertEqual(LookupAnswer(both, serviceURL: tls), .connect(try ServiceURL("pulsar+ssl://broker-2:6651")))
        XCTAssertEqual(LookupAnswer(both, serviceURL: try ServiceURL("pulsar://cluster:6650")), .connect(try ServiceURL("pulsar://broker-2:6650")))
        let plaintextOnly = answer { $0.brokerServiceURL = "pulsar://127.0.0.1:6650" }
        XCTAssertEqual(LookupAnswer(plaintextOnly, serviceURL: tls), .serviceURL(plaintextOnly: "pulsar://127.0.0.1:6650"), "never downgraded")
        let redirect = answer { $0.response = .redirect; $0.authoritative = true; $0.brokerServiceURLTls = "pulsar+ssl://broker-3:6651" }
        XCTAssertEqual(LookupAnswer(redirect, serviceURL: tls), .redirect(try ServiceURL("pulsar+ssl://broker-3:6651"), authoritative: true))
        let proxied = answer { $0.proxyThroughServiceURL = true; $0.brokerServiceURLTls = "pulsar+ssl://broker-2:6651" }
        XCTAssertEqual(LookupAnswer(proxied, serviceURL: tls), .serviceURL(plaintextOnly: nil))
        let mislabelled = answer { $0.brokerServiceURLTls = "pulsar://broker-2:6650" }
        guard case .failed = LookupAnswer(mislabelled, serviceURL: tls) else { return XCTFail("a plaintext URL in the TLS field is refused") }
        let failed = answer { $0.response = .failed; $0.error = .topicNotFound; $0.message = "no topic" }
        XCTAssertEqual(LookupAnswer(failed, serviceURL: tls), .failed(.server(code: "topicNotFound", message: "no topic")))
    }
}
