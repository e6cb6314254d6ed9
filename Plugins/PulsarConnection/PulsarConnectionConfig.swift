import Foundation
import NIOCore
import PluginKit
import PulsarClient
import TLSSupport

/// How the Pulsar source and sink reach and authenticate to the broker: the service URL's
/// TLS settings (named as Pulsar's own clients name them), a static token, or OAuth2 client
/// credentials. Decoded from the plugin's configuration block beside its other keys.
public struct PulsarConnectionConfig: Decodable {
    public var token: ConfigSecret
    public var tlsTrustCertsFile: String?
    public var tlsHostnameVerification: Bool
    public var tlsAllowInsecureConnection: Bool
    public var tlsCertFile: String?
    public var tlsKeyFile: String?
    public var oauth2: OAuth2?

    public struct OAuth2: Decodable {
        public var issuerURL: String?
        public var credentialsFile: String
        public var audience: String?
        public var scope: String?

        enum CodingKeys: String, CodingKey {
            case audience, scope
            case issuerURL = "issuer_url", credentialsFile = "credentials_file"
        }
    }

    enum CodingKeys: String, CodingKey {
        case token, oauth2
        case tokenEnv = "token_env", tokenFile = "token_file"
        case tlsTrustCertsFile = "tls_trust_certs_file", tlsHostnameVerification = "tls_hostname_verification"
        case tlsAllowInsecureConnection = "tls_allow_insecure_connection"
        case tlsCertFile = "tls_cert_file", tlsKeyFile = "tls_key_file"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        token = try c.decodeSecret(named: "token", value: .token, environmentVariable: .tokenEnv, file: .tokenFile)
        tlsTrustCertsFile = try c.decodeIfPresent(String.self, forKey: .tlsTrustCertsFile)
        tlsHostnameVerification = try c.decodeIfPresent(Bool.self, forKey: .tlsHostnameVerification) ?? true
        tlsAllowInsecureConnection = try c.decodeIfPresent(Bool.self, forKey: .tlsAllowInsecureConnection) ?? false
        tlsCertFile = try c.decodeIfPresent(String.self, forKey: .tlsCertFile)
        tlsKeyFile = try c.decodeIfPresent(String.self, forKey: .tlsKeyFile)
        oauth2 = try c.decodeIfPresent(OAuth2.self, forKey: .oauth2)
    }

    /// The JSON Schema properties of these keys, spliced into each plugin's schema.
    public static let schemaProperties = #"""
      "token":{"type":"string","description":"Authentication token (prefer token_env or token_file)"},
      "token_env":{"type":"string","description":"Environment variable holding the token"},
      "token_file":{"type":"string","description":"File holding the token"},
      "tls_trust_certs_file":{"type":"string","minLength":1,"description":"pulsar+ssl: PEM file of the CAs to trust (default: the system's trust store)"},
      "tls_hostname_verification":{"type":"boolean","default":true,"description":"pulsar+ssl: the broker's certificate must name its host"},
      "tls_allow_insecure_connection":{"type":"boolean","default":false,"description":"pulsar+ssl: accept any certificate (logged as a warning; never in production)"},
      "tls_cert_file":{"type":"string","minLength":1,"description":"pulsar+ssl: client certificate (PEM) for mutual TLS"},
      "tls_key_file":{"type":"string","minLength":1,"description":"pulsar+ssl: the client certificate's private key (PEM)"},
      "oauth2":{"type":"object","required":["credentials_file"],"additionalProperties":false,"description":"OAuth2 client credentials (managed Pulsar services)","properties":{
        "issuer_url":{"type":"string","minLength":1,"description":"the issuer (default: issuer_url in the credentials file)"},
        "credentials_file":{"type":"string","minLength":1,"description":"JSON file with client_id and client_secret (Pulsar clients call it private_key)"},
        "audience":{"type":"string"},
        "scope":{"type":"string"}}}
    """#

    var tlsSettings: TLSSettings {
        var settings = TLSSettings(names: .pulsar)
        settings.trustFile = tlsTrustCertsFile
        settings.certificateFile = tlsCertFile
        settings.keyFile = tlsKeyFile
        settings.verifyHostname = tlsHostnameVerification
        settings.verifyCertificate = !tlsAllowInsecureConnection
        return settings
    }

    /// Every problem, each with the JSON Pointer of its key. Reads no file (the certificates and
    /// credentials are read when connecting, so a pipeline validates where its secrets are not
    /// mounted); connects nowhere.
    public func problems(serviceURL: String) -> [PluginError] {
        var errors = token.problems().map { PluginError($0.message, configPath: $0.configPath) }
        let url = try? ServiceURL(serviceURL)
        if let url, !url.usesTLS, tlsSettings.isCustomized {
            // Never a silent downgrade: TLS settings on a plaintext URL are a mistake.
            errors.append(PluginError("TLS settings are given but service_url \(serviceURL) is plaintext: use pulsar+ssl://", configPath: "/service_url"))
        }
        for problem in tlsSettings.structuralProblems() {
            errors.append(PluginError(problem.message, configPath: "/" + problem.option))
        }
        if let oauth2 {
            if token.isGiven {
                errors.append(PluginError("give either a token or oauth2, not both", configPath: "/oauth2"))
            }
            if let issuer = oauth2.issuerURL, !(issuer.hasPrefix("https://") || issuer.hasPrefix("http://")) {
                errors.append(PluginError("oauth2.issuer_url must be an http(s) URL, got '\(issuer)'", configPath: "/oauth2/issuer_url"))
            }
        }
        return errors
    }

    /// The client configuration for `serviceURL`: TLS settings and credentials. An OAuth2 source
    /// is made here (it reads the credentials file); the client shuts it down.
    public func clientConfiguration(serviceURL: String, log: @escaping @Sendable (String) -> Void) throws -> ClientConfiguration {
        var configuration = ClientConfiguration(serviceURL: try ServiceURL(serviceURL))
        configuration.tls = tlsSettings
        configuration.authentication = try PulsarAuthentication.choose(
            token: try token.resolve(),
            oauth2: oauth2.map { OAuth2TokenSource.Configuration(issuerURL: $0.issuerURL, credentialsFile: $0.credentialsFile, audience: $0.audience, scope: $0.scope) },
            tls: tlsSettings, log: log)
        if configuration.serviceURL.usesTLS, let warning = tlsSettings.insecureWarning(endpoint: configuration.serviceURL.description) {
            log("warning: " + warning)
        }
        return configuration
    }
}
