import Foundation
import ServiceTestSupport
import XCTest

/// Encrypted and authenticated connections against real endpoints made by the test: a CA and
/// certificates from openssl, pulsar-lite behind stunnel (TLS, and mutual TLS), ClickHouse 18.16
/// serving HTTPS itself (and requiring client certificates), and an OAuth2 issuer with a
/// token-checking front for the broker. Every refusal names the endpoint and the cause in one
/// line and never prints a secret; the sensors pipeline runs over TLS on both sides, exactly
/// once through kill -9.
final class SecureConnectionTests: XCTestCase {
    // Shared by the class: starting ClickHouse and the broker is the slow part.
    nonisolated(unsafe) static var certificates: TestCertificates!
    nonisolated(unsafe) static var broker: PulsarBroker!
    nonisolated(unsafe) static var clickhouse: ClickHouseServer!
    /// TLS (server certificate only), mutual TLS, a certificate for another host, an expired one.
    nonisolated(unsafe) static var pulsarTLS: TLSTerminator!
    nonisolated(unsafe) static var pulsarMutualTLS: TLSTerminator!
    nonisolated(unsafe) static var wrongHost: TLSTerminator!
    nonisolated(unsafe) static var expired: TLSTerminator!
    /// The same bad certificates in front of ClickHouse's HTTP port.
    nonisolated(unsafe) static var clickhouseWrongHost: TLSTerminator!
    nonisolated(unsafe) static var clickhouseExpired: TLSTerminator!

    override class func setUp() {
        super.setUp()
        do {
            let certs = try TestCertificates()
            certificates = certs
            broker = try PulsarBroker()
            clickhouse = try ClickHouseServer(https: .init(certificate: certs.serverCertificate, key: certs.serverKey))
            try clickhouse.query("CREATE TABLE readings (seq UInt64, sensor_id String) ENGINE = MergeTree ORDER BY seq")
            pulsarTLS = try TLSTerminator(forwardingTo: broker.port, certificate: certs.serverCertificate, key: certs.serverKey)
            pulsarMutualTLS = try TLSTerminator(forwardingTo: broker.port, certificate: certs.serverCertificate, key: certs.serverKey, clientCA: certs.ca)
            wrongHost = try TLSTerminator(forwardingTo: broker.port, certificate: certs.path("wrong-host.pem"), key: certs.path("wrong-host.key"))
            expired = try TLSTerminator(forwardingTo: broker.port, certificate: certs.path("expired.pem"), key: certs.path("expired.key"))
            clickhouseWrongHost = try TLSTerminator(forwardingTo: clickhouse.httpPort, certificate: certs.path("wrong-host.pem"), key: certs.path("wrong-host.key"))
            clickhouseExpired = try TLSTerminator(forwardingTo: clickhouse.httpPort, certificate: certs.path("expired.pem"), key: certs.path("expired.key"))
        } catch {
            XCTFail("cannot start the TLS endpoints: \(error)")
        }
    }

    override class func tearDown() {
        for terminator in [pulsarTLS, pulsarMutualTLS, wrongHost, expired, clickhouseWrongHost, clickhouseExpired] { terminator?.stop() }
        clickhouse?.destroy()
        broker = nil
        certificates = nil
        super.tearDown()
    }

    private var dir = ""
    override func setUp() { dir = makeTemporaryDirectory("secure") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    var certs: TestCertificates { Self.certificates }

    /// A pipeline Pulsar source -> ClickHouse sink with the given extra lines in each config.
    private func pipeline(pulsarURL: String, pulsarSettings: [String] = [], clickhouseURL: String, clickhouseTLS: [String] = [],
                          topic: String = "secure", stopAfter: Int = 1, table: String = "readings", extra: String = "") throws -> String {
        let path = dir + "/pipeline-\(UUID().uuidString.prefix(6)).yaml"
        let tls = clickhouseTLS.isEmpty ? "" : "    tls:\n" + clickhouseTLS.map { "      \($0)\n" }.joined()
        let text = """
        name: secure
        source:
          plugin: pulsar-source
          config:
            service_url: \(pulsarURL)
            topic: persistent://public/default/\(topic)
            subscription: secure
            stop_after_messages: \(stopAfter)
        \(pulsarSettings.map { "    \($0)" }.joined(separator: "\n"))
        transforms:
          - plugin: sensor-parser
            config:
              columns:
                - { name: seq, type: uint64 }
                - { name: sensor_id, type: string }
        sink:
          plugin: clickhouse-sink
          config:
            url: \(clickhouseURL)
            table: \(table)
        \(tls)checkpointing:
          interval: 1s
          directory: \(dir)/checkpoints
        \(extra)
        """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `sluice validate --connect` of `path`: fails, and its output has `expected` in one line.
    private func assertRefused(_ path: String, _ expected: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try runProcess(Built.sluice, ["validate", "--connect", path], timeout: 90)
        XCTAssertNotEqual(result.status, 0, result.output, file: file, line: line)
        let lines = result.output.split(separator: "\n")
        let matching = lines.first { line in expected.allSatisfy { line.contains($0) } }
        XCTAssertNotNil(matching, "no line with \(expected) in:\n\(result.output)", file: file, line: line)
        for secret in ["PRIVATE KEY", "BEGIN CERTIFICATE"] {
            XCTAssertFalse(result.output.contains(secret), "printed key or certificate material", file: file, line: line)
        }
    }

    // MARK: - Pulsar

    func testPulsarOverTLSConnectsAndEachRefusalSaysWhy() throws {
        let trust = "tls_trust_certs_file: \(certs.ca)"
        let ok = try pipeline(pulsarURL: "pulsar+ssl://localhost:\(Self.pulsarTLS.port)", pulsarSettings: [trust], clickhouseURL: Self.clickhouse.url)
        let connected = try runProcess(Built.sluice, ["validate", "--connect", ok], timeout: 90)
        XCTAssertEqual(connected.status, 0, connected.output)
        XCTAssertTrue(connected.output.contains("source: connected"), connected.output)

        // By IP address: the certificate names 127.0.0.1 too.
        let byIP = try pipeline(pulsarURL: "pulsar+ssl://127.0.0.1:\(Self.pulsarTLS.port)", pulsarSettings: [trust], clickhouseURL: Self.clickhouse.url)
        XCTAssertEqual(try runProcess(Built.sluice, ["validate", "--connect", byIP], timeout: 90).status, 0)

        let endpoint = "pulsar+ssl://localhost:\(Self.pulsarTLS.port)"
        try assertRefused(try pipeline(pulsarURL: endpoint, pulsarSettings: ["tls_trust_certs_file: \(certs.otherCA)"], clickhouseURL: Self.clickhouse.url),
                          [endpoint, "is not signed by any CA in \(certs.otherCA)", "tls_trust_certs_file"])
        // Without a trust file, the system store does not know the test CA.
        try assertRefused(try pipeline(pulsarURL: endpoint, clickhouseURL: Self.clickhouse.url),
                          [endpoint, "is not signed by any CA of the system's trust store"])
        let wrongHost = "pulsar+ssl://localhost:\(Self.wrongHost.port)"
        try assertRefused(try pipeline(pulsarURL: wrongHost, pulsarSettings: [trust], clickhouseURL: Self.clickhouse.url),
                          [wrongHost, "does not name host 'localhost'", "tls_hostname_verification"])
        let expired = "pulsar+ssl://localhost:\(Self.expired.port)"
        try assertRefused(try pipeline(pulsarURL: expired, pulsarSettings: [trust], clickhouseURL: Self.clickhouse.url),
                          [expired, "expired on 2020-02-01"])
        // TLS to the broker's plaintext port.
        let plaintextPort = "pulsar+ssl://localhost:\(Self.broker.port)"
        try assertRefused(try pipeline(pulsarURL: plaintextPort, pulsarSettings: [trust, "operation_timeout: 2s"], clickhouseURL: Self.clickhouse.url),
                          [plaintextPort, "does it serve TLS on this port?"])
        // TLS settings on a plaintext URL: never a silent downgrade.
        let plaintext = try pipeline(pulsarURL: Self.broker.url, pulsarSettings: [trust], clickhouseURL: Self.clickhouse.url)
        let validated = try runProcess(Built.sluice, ["validate", plaintext])
        XCTAssertNotEqual(validated.status, 0)
        XCTAssertTrue(validated.output.contains("is plaintext: use pulsar+ssl://"), validated.output)

        // Switching verification off is possible, and loud.
        let insecure = try pipeline(pulsarURL: wrongHost, pulsarSettings: ["tls_allow_insecure_connection: true"], clickhouseURL: Self.clickhouse.url)
        let accepted = try runProcess(Built.sluice, ["validate", "--connect", insecure], timeout: 90)
        XCTAssertEqual(accepted.status, 0, accepted.output)
        XCTAssertTrue(accepted.output.contains("tls_allow_insecure_connection is set: the certificate of \(wrongHost) is not verified"), accepted.output)
    }

    func testPulsarMutualTLSRequiresTheRightClientCertificate() throws {
        let endpoint = "pulsar+ssl://localhost:\(Self.pulsarMutualTLS.port)"
        let trust = "tls_trust_certs_file: \(certs.ca)"
        try assertRefused(try pipeline(pulsarURL: endpoint, pulsarSettings: [trust], clickhouseURL: Self.clickhouse.url),
                          [endpoint, "the server requires a client certificate (set tls_cert_file and tls_key_file)"])
        try assertRefused(try pipeline(pulsarURL: endpoint, pulsarSettings: [trust, "tls_cert_file: \(certs.path("rogue-client.pem"))", "tls_key_file: \(certs.path("rogue-client.key"))"],
                                       clickhouseURL: Self.clickhouse.url),
                          [endpoint, "refused the client certificate in \(certs.path("rogue-client.pem"))", "unknown ca"])
        try assertRefused(try pipeline(pulsarURL: endpoint, pulsarSettings: [trust, "tls_cert_file: \(certs.clientCertificate)", "tls_key_file: \(dir)/missing.key"],
                                       clickhouseURL: Self.clickhouse.url),
                          [endpoint, "tls_key_file \(dir)/missing.key cannot be read"])
        // The Pulsar sink (dead letters to a topic) takes the same settings.
        let mutual = [trust, "tls_cert_file: \(certs.clientCertificate)", "tls_key_file: \(certs.clientKey)"]
        let deadLetters = """
        dead_letter:
          plugin: pulsar-sink
          config:
            service_url: \(endpoint)
            topic: secure-dead-letters
        \(mutual.map { "    \($0)" }.joined(separator: "\n"))
        """
        let good = try pipeline(pulsarURL: endpoint, pulsarSettings: mutual, clickhouseURL: Self.clickhouse.url, extra: deadLetters)
        let connected = try runProcess(Built.sluice, ["validate", "--connect", good], timeout: 90)
        XCTAssertEqual(connected.status, 0, connected.output)
        XCTAssertEqual(connected.output.components(separatedBy: ": connected (open and close succeeded)").count - 1, 4, "source, parser, sink and dead letters:\n\(connected.output)")
        let sinkWithoutCertificate = try pipeline(pulsarURL: endpoint, pulsarSettings: mutual, clickhouseURL: Self.clickhouse.url,
                                                  extra: "dead_letter: { plugin: pulsar-sink, config: { service_url: \"\(endpoint)\", topic: d, tls_trust_certs_file: \"\(certs.ca)\" } }")
        try assertRefused(sinkWithoutCertificate, [endpoint, "the server requires a client certificate"])
    }

    // MARK: - ClickHouse

    func testClickHouseOverHTTPSConnectsAndEachRefusalSaysWhy() throws {
        let https = Self.clickhouse.httpsURL!
        let ok = try pipeline(pulsarURL: Self.broker.url, clickhouseURL: https, clickhouseTLS: ["ca_file: \(certs.ca)"])
        let connected = try runProcess(Built.sluice, ["validate", "--connect", ok], timeout: 90)
        XCTAssertEqual(connected.status, 0, connected.output)
        XCTAssertTrue(connected.output.contains("sink: connected"), connected.output)

        try assertRefused(try pipeline(pulsarURL: Self.broker.url, clickhouseURL: https, clickhouseTLS: ["ca_file: \(certs.otherCA)"]),
                          [https, "is not signed by any CA in \(certs.otherCA)", "tls.ca_file"])
        let wrongHost = "https://localhost:\(Self.clickhouseWrongHost.port)"
        try assertRefused(try pipeline(pulsarURL: Self.broker.url, clickhouseURL: wrongHost, clickhouseTLS: ["ca_file: \(certs.ca)"]),
                          [wrongHost, "does not name host 'localhost'", "tls.verify_hostname"])
        let expired = "https://localhost:\(Self.clickhouseExpired.port)"
        try assertRefused(try pipeline(pulsarURL: Self.broker.url, clickhouseURL: expired, clickhouseTLS: ["ca_file: \(certs.ca)"]),
                          [expired, "expired on 2020-02-01"])
        // https:// to the plaintext HTTP port.
        let plaintextPort = "https://localhost:\(Self.clickhouse.httpPort)"
        try assertRefused(try pipeline(pulsarURL: Self.broker.url, clickhouseURL: plaintextPort, clickhouseTLS: ["ca_file: \(certs.ca)"]),
                          [plaintextPort, "did not answer in TLS"])
        let plaintext = try pipeline(pulsarURL: Self.broker.url, clickhouseURL: Self.clickhouse.url, clickhouseTLS: ["ca_file: \(certs.ca)"])
        let validated = try runProcess(Built.sluice, ["validate", plaintext])
        XCTAssertNotEqual(validated.status, 0)
        XCTAssertTrue(validated.output.contains("is plaintext: use https://"), validated.output)

        let insecure = try pipeline(pulsarURL: Self.broker.url, clickhouseURL: wrongHost, clickhouseTLS: ["insecure_skip_verify: true"])
        let accepted = try runProcess(Built.sluice, ["validate", "--connect", insecure], timeout: 90)
        XCTAssertEqual(accepted.status, 0, accepted.output)
        XCTAssertTrue(accepted.output.contains("tls.insecure_skip_verify is set"), accepted.output)
    }

    // MARK: - End to end

    /// The sensor pipeline over mutual TLS on both sides: the broker behind stunnel requiring a
    /// client certificate, ClickHouse serving HTTPS itself and requiring one too. Readings are
    /// produced over TLS by `sluice produce`; the worker is killed twice; every reading lands
    /// exactly once.
    func testSensorsPipelineOverMutualTLSIsExactlyOnceThroughKills() throws {
        let strict = try ClickHouseServer(https: .init(certificate: certs.serverCertificate, key: certs.serverKey, clientCA: certs.ca))
        defer { strict.destroy() }
        try createSensorTables(in: strict)
        // The shipped sensor pipeline, with the TLS settings added to each connection.
        var text = try String(contentsOfFile: Built.packageRoot + "/pipelines/sensors.yaml", encoding: .utf8)
        let pulsarTLS = "    tls_trust_certs_file: \(certs.ca)\n    tls_cert_file: \(certs.clientCertificate)\n    tls_key_file: \(certs.clientKey)\n"
        let clickhouseTLS = "    tls: { ca_file: \"\(certs.ca)\", cert_file: \"\(certs.clientCertificate)\", key_file: \"\(certs.clientKey)\" }\n"
        XCTAssertEqual(text.components(separatedBy: "    receiver_queue_size: 2000\n").count, 2)
        XCTAssertEqual(text.components(separatedBy: "    password: \"${CLICKHOUSE_PASSWORD:-}\"\n").count, 3)
        text = text.replacingOccurrences(of: "    receiver_queue_size: 2000\n", with: "    receiver_queue_size: 2000\n" + pulsarTLS)
        text = text.replacingOccurrences(of: "    password: \"${CLICKHOUSE_PASSWORD:-}\"\n", with: "    password: \"${CLICKHOUSE_PASSWORD:-}\"\n" + clickhouseTLS)
        let path = dir + "/sensors-tls.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)

        let pulsarURL = "pulsar+ssl://localhost:\(Self.pulsarMutualTLS.port)"
        // Without its client certificate ClickHouse refuses the sink, in one line.
        let withoutCertificate = try pipeline(pulsarURL: Self.broker.url, clickhouseURL: strict.httpsURL!, clickhouseTLS: ["ca_file: \(certs.ca)"])
        try assertRefused(withoutCertificate, [strict.httpsURL!, "client certificate"])

        let n = 30_000
        let topic = "persistent://public/default/sensors-tls"
        let producer = try StartedProcess(Built.sluice, ["produce", "--url", pulsarURL, "--topic", topic, "--template", "sensors", "--count", String(n), "--rate", "4000",
                                                         "--tls-trust-certs-file", certs.ca, "--tls-cert-file", certs.clientCertificate, "--tls-key-file", certs.clientKey])
        let environment = ["PULSAR_URL": pulsarURL, "PULSAR_TOPIC": topic, "PULSAR_SUBSCRIPTION": "tls",
                           "CLICKHOUSE_URL": strict.httpsURL!, "SLUICE_CHECKPOINT_DIR": dir + "/checkpoints", "SLUICE_CHECKPOINT_INTERVAL": "1s"]
        let supervisor = try StartedProcess(Built.sluice, ["run", path], environment: environment, expectingRestarts: true)
        defer { if supervisor.process.isRunning { kill(supervisor.pid, SIGKILL) } }
        try supervisor.waitForLog("checkpoint 1 complete", timeout: 60)
        var killed = Set<Int32>()
        for _ in 0..<2 {
            let deadline = Date().addingTimeInterval(60)
            var worker: Int32?
            while worker == nil && Date() < deadline {
                worker = supervisor.children().first { !killed.contains($0) }
                if worker == nil { usleep(50_000) }
            }
            guard let worker else { throw TestFailure("no worker to kill:\n\(supervisor.stderrText.suffix(3000))") }
            usleep(UInt32.random(in: 600_000...1_500_000))
            kill(worker, SIGKILL)
            killed.insert(worker)
        }
        let produced = try producer.wait(timeout: 120)
        XCTAssertEqual(produced.status, 0, produced.stderr)
        let deadline = Date().addingTimeInterval(120)
        var rows = 0
        while Date() < deadline {
            rows = Int(try strict.scalar("SELECT count() FROM sensor_readings")) ?? 0
            if rows >= n { break }
            usleep(250_000)
        }
        sleep(2)  // anything more arriving now would be a duplicate
        kill(supervisor.pid, SIGTERM)
        let result = try supervisor.wait(timeout: 60)
        XCTAssertEqual(result.status, 0, String(result.stderr.suffix(4000)))
        XCTAssertEqual(result.stderr.components(separatedBy: "signal 9 (SIGKILL)").count - 1, 2, String(result.stderr.suffix(4000)))
        XCTAssertEqual(try strict.scalar("SELECT count() FROM sensor_readings"), String(n))
        XCTAssertEqual(try strict.scalar("SELECT uniqExact(seq) FROM sensor_readings"), String(n))
        XCTAssertEqual(try strict.scalar("SELECT count() FROM sensor_readings_errors"), "0")
    }

    // MARK: - OAuth2

    /// A Python helper (an OAuth2 issuer or the token-checking broker front) started in the
    /// background; it writes its counters to `stats` once it serves.
    private final class Helper {
        let process: StartedProcess
        let stats: String
        init(_ script: String, _ arguments: [String], stats: String, port: Int) throws {
            self.stats = stats
            process = try StartedProcess(PulsarBroker.python, [Built.packageRoot + "/Tests/Fixtures/oauth2/" + script] + arguments + ["--stats", stats])
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline {
                if FileManager.default.fileExists(atPath: stats), (try? runProcess("/bin/bash", ["-c", "exec 3<>/dev/tcp/127.0.0.1/\(port)"]))?.status == 0 { return }
                guard process.process.isRunning else { break }
                usleep(50_000)
            }
            throw TestFailure("\(script) did not start:\n\(process.stderrText)")
        }
        func counters() throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stats))) as? [String: Any] ?? [:]
        }
        deinit { kill(process.pid, SIGKILL) }
    }

    /// OAuth2 client credentials against an issuer that hands out 2-second tokens, through a
    /// front that checks the token in CONNECT and challenges the client every 1.5 s, as a broker
    /// does when the token it holds expires. The pipeline runs for about 8 s: the token is
    /// renewed before each expiry, every challenge is answered with a valid token, and every
    /// reading arrives. A wrong client secret and a static token the front does not accept are
    /// refused in one line, the secret never printed.
    func testOAuth2TokensAreRenewedAndAnswerTheBrokersChallenges() throws {
        let secretFile = dir + "/client-secret"
        let secret = "s3cret-\(UUID().uuidString.prefix(8))"
        try secret.write(toFile: secretFile, atomically: true, encoding: .utf8)
        let credentials = dir + "/credentials.json"
        try #"{"type":"client_credentials","client_id":"sluice-test","client_secret":"\#(secret)"}"#.write(toFile: credentials, atomically: true, encoding: .utf8)
        let signingKey = UUID().uuidString
        let issuerPort = freePort()
        let issuer = try Helper("token_server.py", ["--port", String(issuerPort), "--client-id", "sluice-test", "--client-secret-file", secretFile,
                                                    "--signing-key", signingKey, "--audience", "urn:sluice:test", "--lifetime", "2",
                                                    "--cert", certs.serverCertificate, "--key", certs.serverKey],
                                stats: dir + "/issuer.json", port: issuerPort)
        let frontPort = freePort()
        let front = try Helper("auth_proxy.py", ["--port", String(frontPort), "--broker-port", String(Self.broker.port), "--signing-key", signingKey,
                                                 "--challenge-every", "1.5"],
                               stats: dir + "/front.json", port: frontPort)
        let terminator = try TLSTerminator(forwardingTo: frontPort, certificate: certs.serverCertificate, key: certs.serverKey)
        let url = "pulsar+ssl://localhost:\(terminator.port)"
        try Self.clickhouse.query("CREATE TABLE readings_oauth2 (seq UInt64, sensor_id String) ENGINE = MergeTree ORDER BY seq")
        func oauth2(_ credentialsFile: String) -> [String] {
            ["tls_trust_certs_file: \(certs.ca)", "oauth2:", "  issuer_url: https://localhost:\(issuerPort)",
             "  credentials_file: \(credentialsFile)", "  audience: urn:sluice:test"]
        }

        let n = 2000
        let topic = "oauth2-\(UUID().uuidString.prefix(6))"
        let producer = try StartedProcess(Built.sluice, ["produce", "--url", Self.broker.url, "--topic", topic, "--template", "sensors",
                                                         "--count", String(n), "--rate", "250"])
        let path = try pipeline(pulsarURL: url, pulsarSettings: oauth2(credentials), clickhouseURL: Self.clickhouse.url, topic: topic,
                                stopAfter: n, table: "readings_oauth2")
        let run = try runProcess(Built.sluice, ["run", path], timeout: 120)
        XCTAssertEqual(run.status, 0, String(run.stderr.suffix(4000)))
        XCTAssertEqual(try producer.wait(timeout: 60).status, 0)
        XCTAssertEqual(try Self.clickhouse.scalar("SELECT count() FROM readings_oauth2"), String(n))
        XCTAssertEqual(try Self.clickhouse.scalar("SELECT uniqExact(seq) FROM readings_oauth2"), String(n))
        XCTAssertFalse(run.output.contains(secret), "the client secret was printed")

        let issued = try issuer.counters()
        let checked = try front.counters()
        let tokenRequests = issued["token_requests"] as? Int ?? 0
        let challenges = checked["challenges"] as? Int ?? 0
        let responses = checked["auth_responses"] as? Int ?? 0
        XCTAssertGreaterThanOrEqual(tokenRequests, 3, "tokens renewed before they expire: \(issued)")
        XCTAssertEqual(issued["refused"] as? Int, 0, "\(issued)")
        XCTAssertEqual(issued["last_form_keys"] as? [String], ["audience", "client_id", "client_secret", "grant_type"])
        XCTAssertGreaterThanOrEqual(challenges, 3, "\(checked)")
        XCTAssertGreaterThanOrEqual(responses, challenges - 1, "every challenge answered: \(checked)")
        XCTAssertGreaterThanOrEqual((checked["tokens"] as? [String])?.count ?? 0, 3, "renewed tokens reached the broker: \(checked)")
        XCTAssertEqual(checked["refused"] as? Int, 0, "no expired or invalid token reached the broker: \(checked)")

        // A wrong secret: the issuer's refusal, in one line, without the secret.
        let wrongSecret = "wrong-\(UUID().uuidString.prefix(8))"
        let wrongCredentials = dir + "/wrong.json"
        try #"{"client_id":"sluice-test","client_secret":"\#(wrongSecret)"}"#.write(toFile: wrongCredentials, atomically: true, encoding: .utf8)
        let refused = try runProcess(Built.sluice, ["validate", "--connect", try pipeline(pulsarURL: url, pulsarSettings: oauth2(wrongCredentials), clickhouseURL: Self.clickhouse.url)], timeout: 90)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.output.split(separator: "\n").contains { $0.contains("the issuer refused the token request for client_id sluice-test at https://localhost:\(issuerPort)/oauth/token (HTTP 401, invalid_client") }, refused.output)
        XCTAssertFalse(refused.output.contains(wrongSecret), refused.output)
        // A static token the broker does not accept.
        let bogus = try runProcess(Built.sluice, ["validate", "--connect", try pipeline(pulsarURL: url, pulsarSettings: ["tls_trust_certs_file: \(certs.ca)", "token: not-a-valid-token"], clickhouseURL: Self.clickhouse.url)], timeout: 90)
        XCTAssertNotEqual(bogus.status, 0)
        XCTAssertTrue(bogus.output.contains("invalid or expired token"), bogus.output)
        XCTAssertFalse(bogus.output.contains("not-a-valid-token"), bogus.output)
    }
}
