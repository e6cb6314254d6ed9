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
