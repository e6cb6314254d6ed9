import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Turns what NIOSSL reports about a failed TLS connection into one line that names the
/// endpoint, the cause, and the setting that fixes it. Never includes a key or a secret.
///
/// BoringSSL reports an unknown CA and an expired certificate alike (CERTIFICATE_VERIFY_FAILED);
/// `diagnoseVerification` tells them apart by fetching the server's chain once more without
/// verifying it.
public enum TLSFailure {
    /// What went wrong, in one line, and whether trying again with the same settings can help:
    /// a certificate that does not verify or a refused client certificate stays so until someone
    /// changes it; a connection closed mid-handshake may be a server restarting.
    public struct Explanation: Sendable, Equatable {
        public let message: String
        public let isPermanent: Bool
    }

    /// The explanation of `error`, or nil when it is not a TLS error.
    public static func explain(_ error: Error, endpoint: String, settings: TLSSettings) -> Explanation? {
        guard let message = message(for: error, endpoint: endpoint, settings: settings) else { return nil }
        let transient: Bool
        switch error as? NIOSSLError {
        case .uncleanShutdown?: transient = true
        case .handshakeFailed(let inner)?: transient = "\(inner)".contains("EOF during handshake")
        default: transient = false
        }
        return Explanation(message: message, isPermanent: !transient)
    }

    static func message(for error: Error, endpoint: String, settings: TLSSettings) -> String? {
        let names = settings.names
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return "TLS to \(endpoint): the server's certificate does not name host '\(hostOf(endpoint))' (use the host its certificate was issued for, or set \(names.verifyHostname): false knowingly)"
        }
        guard let tls = error as? NIOSSLError else {
            // After the handshake (a TLS 1.3 server refuses a client certificate only then).
            if error is BoringSSLError { return explainBoringSSL("\(error)", endpoint: endpoint, settings: settings) }
            return nil
        }
        switch tls {
        case .handshakeFailed(let inner):
            return explainBoringSSL("\(inner)", endpoint: endpoint, settings: settings)
        case .uncleanShutdown:
            return "TLS to \(endpoint): the server closed the connection without a TLS close (does it serve TLS on this port? does it require a client certificate: \(names.certificateFile), \(names.keyFile)?)"
        case .failedToLoadCertificate, .failedToLoadPrivateKey, .noSuchFilesystemObject:
            return "TLS to \(endpoint): cannot load the client certificate or key (\(names.certificateFile), \(names.keyFile)): \(tls)"
        default:
            return "TLS to \(endpoint) failed: \(tls)"
        }
    }

    /// The explanation of BoringSSL's error text, by the reason codes it carries.
    static func explainBoringSSL(_ text: String, endpoint: String, settings: TLSSettings) -> String {
        let names = settings.names
        let hasClientCertificate = settings.certificateFile != nil
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            let trust = settings.trustFile.map { "any CA in \($0)" } ?? "any CA of the system's trust store"
            return "TLS to \(endpoint): the server's certificate is not signed by \(trust) (set \(names.trustFile) to the CA that issued it)"
        }
        if text.contains("CERTIFICATE_REQUIRED") || (!hasClientCertificate && text.contains("HANDSHAKE_FAILURE")) {
            return "TLS to \(endpoint): the server requires a client certificate (set \(names.certificateFile) and \(names.keyFile))"
        }
        if hasClientCertificate, let alert = ["UNKNOWN_CA", "BAD_CERTIFICATE", "CERTIFICATE_UNKNOWN", "CERTIFICATE_EXPIRED", "CERTIFICATE_REVOKED", "ACCESS_DENIED", "HANDSHAKE_FAILURE", "DECRYPT_ERROR"].first(where: { text.contains("ALERT_" + $0) }) {
            return "TLS to \(endpoint): the server refused the client certificate in \(settings.certificateFile ?? "") (alert \(alert.lowercased().replacingOccurrences(of: "_", with: " ")); is it issued by a CA the server trusts?)"
        }
        if text.contains("WRONG_VERSION_NUMBER") || text.contains("PACKET_LENGTH_TOO_LONG") || text.contains("UNKNOWN_PROTOCOL") {
            return "TLS to \(endpoint): the server did not answer in TLS (is this a plaintext port?)"
        }
        if text.contains("EOF during handshake") {
            return "TLS to \(endpoint): the server closed the connection during the TLS handshake (does it serve TLS on this port? does it require a client certificate: \(names.certificateFile), \(names.keyFile)?)"
        }
        return "TLS to \(endpoint): handshake failed: \(reasons(in: text))"
    }

    /// BoringSSL's reason codes in an error text (`...:OPENSSL_internal:REASON at file:line`).
    static func reasons(in text: String) -> String {
        var found: [String] = []
        for part in text.components(separatedBy: "OPENSSL_internal:").dropFirst() {
            let reason = part.prefix { $0.isUppercase || $0.isNumber || $0 == "_" }
            if !reason.isEmpty { found.append(String(reason)) }
        }
        return found.isEmpty ? text : found.joined(separator: ", ")
    }

    /// Whether an explanation is about certificate verification, which a probe can refine.
    public static func isVerificationFailure(_ error: Error) -> Bool {
        if case .handshakeFailed(let inner)? = error as? NIOSSLError { return "\(inner)".contains("CERTIFICATE_VERIFY_FAILED") }
        return false
    }

    /// Connects to `host:port` once more, takes the server's chain without verifying it, and
    /// says what is wrong with it: expired, not yet valid, or issued by a CA not trusted.
    /// Completes with nil when the probe itself fails (the first explanation then stands).
    public static func diagnoseVerification(host: String, port: Int, endpoint: String, settings: TLSSettings,
                                            on loop: EventLoop, timeout: TimeAmount = .seconds(5)) -> EventLoopFuture<String?> {
        let chain = loop.makePromise(of: [NIOSSLCertificate].self)
        let context: NIOSSLContext
        do {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .noHostnameVerification
            context = try NIOSSLContext(configuration: configuration)
        } catch {
            return loop.makeSucceededFuture(String?.none)
        }
        let captured = chain
        let connection = ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = try NIOSSLClientHandler(context: context, serverHostname: TLSSettings.serverName(forHost: host)) { certificates, verdict in
                        captured.succeed(certificates)
                        verdict.succeed(NIOSSLVerificationResult.failed)
                    }
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: host, port: port)
        connection.whenFailure { chain.fail($0) }
        let deadline = loop.scheduleTask(in: timeout) { chain.fail(ChannelError.connectTimeout(timeout)) }
        return chain.futureResult.map { certificates -> String? in
            deadline.cancel()
            connection.whenSuccess { $0.close(promise: nil) }
            return describe(chain: certificates, endpoint: endpoint, settings: settings, now: time(nil))
        }.recover { _ -> String? in
            deadline.cancel()
            connection.whenSuccess { $0.close(promise: nil) }
            return nil
        }
    }

    /// What is wrong with a chain the server presented, judged at `now`.
    static func describe(chain: [NIOSSLCertificate], endpoint: String, settings: TLSSettings, now: time_t) -> String? {
        guard let leaf = chain.first else { return nil }
        let trust = settings.trustFile.map { "any CA in \($0)" } ?? "any CA of the system's trust store"
        for certificate in chain {
            let role = certificate == leaf ? "the server's certificate" : "a CA certificate in the server's chain"
            if certificate.notValidAfter < now {
                return "TLS to \(endpoint): \(role) expired on \(date(certificate.notValidAfter)) (renew it on the server)"
            }
            if certificate.notValidBefore > now {
                return "TLS to \(endpoint): \(role) is not valid before \(date(certificate.notValidBefore)) (check the server's certificate, or this machine's clock)"
            }
        }
        return "TLS to \(endpoint): the server's certificate \(leaf.subjectSummary) is not signed by \(trust) (set \(settings.names.trustFile) to the CA that issued it)"
    }

    private static func date(_ time: time_t) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(time)))
    }

    private static func hostOf(_ endpoint: String) -> String {
        var rest = Substring(endpoint)
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") { return String(rest[rest.index(after: rest.startIndex)..<close]) }
        if let colon = rest.lastIndex(of: ":") { rest = rest[..<colon] }
        return String(rest)
    }
}

extension NIOSSLCertificate {
    /// "(CN=..., names ...)" from NIOSSL's own description, for messages.
    var subjectSummary: String {
        // NIOSSL describes a certificate as <NIOSSLCertificate;serial_number=..;common_name=..;alternative_names=..>.
        let fields = description.dropFirst().dropLast().split(separator: ";").dropFirst()
        let kept = fields.filter { !$0.hasPrefix("serial_number=") }.map { $0.replacingOccurrences(of: "common_name=", with: "CN=").replacingOccurrences(of: "alternative_names=", with: "names ") }
        return kept.isEmpty ? "" : "(" + kept.joined(separator: ", ") + ")"
    }
}
