import NIOSSL
import Glibc

/// How one endpoint's TLS connections are made and verified, as a user configured them:
/// where trust comes from, the client certificate for mutual TLS, and the two verifications
/// that are on unless switched off by name. Shared by the Pulsar client and the ClickHouse sink,
/// each of which calls its settings by the names its users know (`names`).
public struct TLSSettings: Sendable, Equatable {
    /// PEM file with the CA certificates to trust; nil: the system's trust store.
    public var trustFile: String?
    /// PEM certificate (chain) presented to the server, for mutual TLS.
    public var certificateFile: String?
    /// PEM private key of `certificateFile`.
    public var keyFile: String?
    /// Whether the server's certificate must name the host in the URL.
    public var verifyHostname = true
    /// Whether the server's certificate chain is verified at all. Off only when asked
    /// (`names.insecure`), and then with a warning in the log.
    public var verifyCertificate = true
    /// The configuration names of the settings above, for messages.
    public var names: OptionNames

    public struct OptionNames: Sendable, Equatable {
        public var trustFile: String
        public var certificateFile: String
        public var keyFile: String
        public var verifyHostname: String
        public var insecure: String

        public init(trustFile: String, certificateFile: String, keyFile: String, verifyHostname: String, insecure: String) {
            self.trustFile = trustFile
            self.certificateFile = certificateFile
            self.keyFile = keyFile
            self.verifyHostname = verifyHostname
            self.insecure = insecure
        }
    }

    public init(names: OptionNames) {
        self.names = names
    }

    /// Whether anything differs from the defaults (system trust, no client certificate, both
    /// verifications on): settings that mean nothing beside a plaintext URL.
    public var isCustomized: Bool {
        trustFile != nil || certificateFile != nil || keyFile != nil || !verifyHostname || !verifyCertificate
    }

    /// The warning to log once when verification is off; nil when it is on.
    public func insecureWarning(endpoint: String) -> String? {
        if !verifyCertificate {
            return "\(names.insecure) is set: the certificate of \(endpoint) is not verified, so anyone on the network path can read and change this connection"
        }
        if !verifyHostname {
            return "\(names.verifyHostname) is off: any certificate from a trusted CA is accepted for \(endpoint), whatever host it names"
        }
        return nil
    }

    /// Problems of the settings as written (a certificate without its key), each with the name of
    /// the setting. Reads no file: a pipeline validates on a machine without its secrets mounted.
    public func structuralProblems() -> [(option: String, message: String)] {
        guard (certificateFile == nil) != (keyFile == nil) else { return [] }
        let (given, missing) = certificateFile != nil ? (names.certificateFile, names.keyFile) : (names.keyFile, names.certificateFile)
        return [(missing, "\(given) is set but \(missing) is not: a client certificate needs both")]
    }

    /// Problems of the files the settings name (missing, unreadable, not PEM), each with the name
    /// of the setting; reads the files but never prints them. Checked when connecting.
    public func fileProblems() -> [(option: String, message: String)] {
        var found: [(String, String)] = []
        if let trustFile {
            if let problem = Self.readProblem(trustFile) { found.append((names.trustFile, "\(names.trustFile) \(problem)")) }
            else if (try? NIOSSLCertificate.fromPEMFile(trustFile))?.isEmpty ?? true {
                found.append((names.trustFile, "\(names.trustFile) \(trustFile) holds no PEM certificate"))
            }
        }
        if let certificateFile {
            if let problem = Self.readProblem(certificateFile) { found.append((names.certificateFile, "\(names.certificateFile) \(problem)")) }
            else if (try? NIOSSLCertificate.fromPEMFile(certificateFile))?.isEmpty ?? true {
                found.append((names.certificateFile, "\(names.certificateFile) \(certificateFile) holds no PEM certificate"))
            }
        }
        if let keyFile {
            if let problem = Self.readProblem(keyFile) { found.append((names.keyFile, "\(names.keyFile) \(problem)")) }
            else if (try? NIOSSLPrivateKey(file: keyFile, format: .pem)) == nil {
                found.append((names.keyFile, "\(names.keyFile) \(keyFile) holds no unencrypted PEM private key"))
            }
        }
        return found
    }

    private static func readProblem(_ path: String) -> String? {
        guard let handle = fopen(path, "r") else {
            return "\(path) cannot be read: \(String(cString: strerror(errno)))"
        }
        fclose(handle)
        return nil
    }

    /// NIOSSL's client configuration for these settings.
    public func clientConfiguration() throws -> TLSConfiguration {
        if let problem = (structuralProblems() + fileProblems()).first { throw TLSSetupError(message: problem.message) }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = !verifyCertificate ? .none : (verifyHostname ? .fullVerification : .noHostnameVerification)
        if let trustFile { configuration.trustRoots = .file(trustFile) }
        if let certificateFile, let keyFile {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
        }
        return configuration
    }

    /// A context for these settings (one per client: it loads the trust store once).
    public func makeContext() throws -> NIOSSLContext {
        do {
            return try NIOSSLContext(configuration: clientConfiguration())
        } catch let error as TLSSetupError {
            throw error
        } catch {
            throw TLSSetupError(message: "cannot set up TLS (\(names.trustFile), \(names.certificateFile), \(names.keyFile)): \(error)")
        }
    }

    /// The name to send as SNI and to verify: the host, unless it is an IP address (which SNI
    /// must not carry; NIOSSL then checks the certificate's IP addresses).
    public static func serverName(forHost host: String) -> String? {
        isIPAddress(host) ? nil : host
    }

    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        return inet_pton(AF_INET, bare, &v4) == 1 || inet_pton(AF_INET6, bare, &v6) == 1
    }
}

/// A TLS setting that cannot be used (a missing file, a key without a certificate).
public struct TLSSetupError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}
