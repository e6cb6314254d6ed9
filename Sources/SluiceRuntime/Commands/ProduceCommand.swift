import ArgumentParser
import Foundation
import PulsarClient
import TLSSupport

/// `sluice produce`: writes sample sensor readings (or the lines of a file) to a Pulsar topic
/// with sluice's own producer (batching, compression). A load generator for tests and
/// benchmarks, and a check of the producer against other clients.
struct ProduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Write sample sensor readings or the lines of a file to a Pulsar topic.",
        discussion: """
        Progress goes to standard error once a second; a summary (messages, seconds, rate) is printed at the end.
        Sensor readings are JSON objects with sensor_id, ts, temperature, humidity (sometimes missing or null),
        battery, status, location and a unique seq; each message's key is its sensor_id, its event time is ts and
        its property "seq" is seq.
        """)

    @Option(help: "Service URL, pulsar://host:port or pulsar+ssl://host:port.") var url: String
    @Option(help: "Topic: persistent://tenant/namespace/name or a short name.") var topic: String
    @Option(help: "Number of messages (default for --file: every line).") var count: Int?
    @Option(help: "Messages per second (default: as fast as the broker takes them).") var rate: Double?
    @Option(help: "What to write: sensors (sample sensor readings).") var template: String?
    @Option(help: "Write the lines of this file instead (one message per line).") var file: String?
    @Option(name: .customLong("batch-size"), help: "Messages per batch entry; 1 disables batching.") var batchSize = 1000
    @Option(help: "none, lz4, zlib, zstd or snappy.") var compression = "none"
    @Option(name: .customLong("malformed-percent"), help: "Make about this share of sensor readings malformed (not JSON, missing field, wrong type, battery 300, invalid UTF-8).")
    var malformedPercent: Double = 0
    @Option(name: .customLong("start-seq"), help: "seq of the first sensor reading.") var startSeq = 1
    @Option(help: "Seed of the sample generator.") var seed: UInt64 = 1
    @Flag(name: .customLong("now-timestamps"), help: "Sensor readings: ts is the time the reading is sent (epoch ms), to measure publish-to-visible latency.") var nowTimestamps = false
    @Option(name: .customLong("token-file"), help: "File holding an authentication token.") var tokenFile: String?
    @Option(name: .customLong("tls-trust-certs-file"), help: "pulsar+ssl: PEM file of the CAs to trust (default: the system's).") var tlsTrustCertsFile: String?
    @Option(name: .customLong("tls-cert-file"), help: "pulsar+ssl: client certificate (PEM) for mutual TLS.") var tlsCertFile: String?
    @Option(name: .customLong("tls-key-file"), help: "pulsar+ssl: the client certificate's private key (PEM).") var tlsKeyFile: String?
    @Flag(name: .customLong("no-tls-hostname-verification"), help: "pulsar+ssl: accept a certificate that does not name the host.") var noHostnameVerification = false
    @Flag(name: .customLong("tls-allow-insecure-connection"), help: "pulsar+ssl: accept any certificate (never in production).") var tlsAllowInsecureConnection = false
    @Option(name: .customLong("oauth2-credentials-file"), help: "OAuth2 client credentials: JSON file with client_id and client_secret.") var oauth2CredentialsFile: String?
    @Option(name: .customLong("oauth2-issuer-url"), help: "OAuth2 issuer (default: issuer_url in the credentials file).") var oauth2IssuerURL: String?
    @Option(name: .customLong("oauth2-audience"), help: "OAuth2 audience.") var oauth2Audience: String?
    @Option(name: .customLong("oauth2-scope"), help: "OAuth2 scope.") var oauth2Scope: String?

    func validate() throws {
        guard (template == nil) != (file == nil) else { throw ValidationError("give exactly one of --template sensors and --file PATH") }
        if let template, template != "sensors" { throw ValidationError("unknown template '\(template)'; the only one is 'sensors'") }
        if template != nil && count == nil { throw ValidationError("--template sensors needs --count") }
        if let count, count < 0 { throw ValidationError("--count must not be negative") }
        if let rate, rate <= 0 { throw ValidationError("--rate must be positive") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
        if CompressionCodec(rawValue: compression) == nil { throw ValidationError("unknown compression '\(compression)': use none, lz4, zlib, zstd or snappy") }
        if !(0...100).contains(malformedPercent) { throw ValidationError("--malformed-percent must be between 0 and 100") }
        do { _ = try ServiceURL(url) } catch { throw ValidationError("\(error)") }
        do { _ = try TopicName(topic) } catch { throw ValidationError("\(error)") }
        if tlsSettings.isCustomized && !url.hasPrefix("pulsar+ssl://") { throw ValidationError("TLS options need a pulsar+ssl:// URL") }
        if let problem = (tlsSettings.structuralProblems() + tlsSettings.fileProblems()).first { throw ValidationError(problem.message) }
        if tokenFile != nil && oauth2CredentialsFile != nil { throw ValidationError("give either --token-file or --oauth2-credentials-file") }
    }

    private var tlsSettings: TLSSettings {
        var settings = TLSSettings(names: .init(trustFile: "--tls-trust-certs-file", certificateFile: "--tls-cert-file", keyFile: "--tls-key-file",
                                                verifyHostname: "--no-tls-hostname-verification", insecure: "--tls-allow-insecure-connection"))
        settings.trustFile = tlsTrustCertsFile
        settings.certificateFile = tlsCertFile
        settings.keyFile = tlsKeyFile
        settings.verifyHostname = !noHostnameVerification
        settings.verifyCertificate = !tlsAllowInsecureConnection
        return settings
    }

    func run() throws {
        var token: String?
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else { throw ValidationError("cannot read --token-file \(tokenFile)") }
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        var lines: [Substring] = []
        if let file {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw ValidationError("cannot read --file \(file)") }
            lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            if lines.last == "" { lines.removeLast() }
        }
        let total = file != nil ? min(count ?? lines.count, lines.count) : count!

        var clientConfiguration = ClientConfiguration(serviceURL: try ServiceURL(url))
        clientConfiguration.tls = tlsSettings
        if let warning = tlsSettings.insecureWarning(endpoint: url), clientConfiguration.serviceURL.usesTLS { Log.warn(warning) }
        do {
            clientConfiguration.authentication = try PulsarAuthentication.choose(
                token: token,
                oauth2: oauth2CredentialsFile.map { OAuth2TokenSource.Configuration(issuerURL: oauth2IssuerURL, credentialsFile: $0, audience: oauth2Audience, scope: oauth2Scope) },
                tls: tlsSettings)
        } catch {
            throw ValidationError("\(error)")
        }
        let client = PulsarClient(configuration: clientConfiguration)
        client.log = { line in Log.info(line) }
        defer { client.shutdown() }
        var config = ProducerConfiguration(topic: try TopicName(topic))
        config.batchingMaxMessages = batchSize
        config.compression = CompressionCodec(rawValue: compression)!
        let producer = PulsarProducer(client: client, configuration: config)
        do { try producer.start().wait() } catch {
            printError("cannot create a producer on \(topic) at \(url): \(error)")
            throw ExitCode(1)
        }

        let samples = SensorSamples(malformedPercent: malformedPercent, seed: seed)
        let start = monotonicNanoseconds()
        var lastReport = start
        var malformed = 0
        for i in 0..<total {
            if let rate {
                let due = start + UInt64(Double(i) / rate * 1e9)
                let now = monotonicNanoseconds()
                if due > now { usleep(useconds_t(min(1_000_000, (due - now) / 1000))) }
            }
            let message: OutgoingMessage
            if file != nil {
                message = OutgoingMessage(bytes: Array(lines[i].utf8))
            } else {
                let seq = startSeq + i
                let sample = samples.sample(seq: seq, timestamp: nowTimestamps ? wallClockMilliseconds() : nil)
                if sample.malformation != nil { malformed += 1 }
                message = OutgoingMessage(bytes: sample.payload, key: sample.sensorID,
                                          properties: [("seq", String(seq))], eventTime: UInt64(sample.timestamp))
            }
            do { try producer.send(message) } catch {
                printError("sending message \(i + 1) failed: \(error)")
                throw ExitCode(1)
            }
            let now = monotonicNanoseconds()
            if now - lastReport >= 1_000_000_000 {
                lastReport = now
                let seconds = Double(now - start) / 1e9
                FileHandle.standardError.write("produced \(i + 1) of \(total) messages (\(Int(Double(i + 1) / seconds)) msg/s)\n".data(using: .utf8)!)
            }
        }
        do { try producer.close().wait() } catch {
            printError("flushing the producer failed: \(error)")
            throw ExitCode(1)
        }
        let seconds = Double(monotonicNanoseconds() - start) / 1e9
        let rateText = String(format: "%.0f", Double(total) / max(seconds, 1e-9))
        print("produced \(total) messages to \(topic) in \(String(format: "%.2f", seconds)) s (\(rateText) msg/s)" + (malformed > 0 ? ", \(malformed) malformed" : ""))
    }
}
