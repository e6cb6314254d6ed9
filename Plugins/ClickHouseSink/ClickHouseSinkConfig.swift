import Foundation
import PluginKit
import TLSSupport

/// A setting value: any JSON scalar, sent as text.
struct SettingValue: Decodable {
    let text: String
    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) { text = b ? "1" : "0" }
        else if let i = try? c.decode(Int64.self) { text = String(i) }
        else if let d = try? c.decode(Double.self) { text = String(d) }
        else { text = try c.decode(String.self) }
    }
}

extension ClickHouseSink {
    /// The sink's YAML block (see docs/clickhouse-sink.md), defaults applied.
    public struct Config: Decodable {
        var url: String
        var database: String
        var table: String
        var user: String
        var password: ConfigSecret
        /// "exactly-once" or "at-least-once"; nil: the pipeline's checkpointing mode.
        var mode: String?
        var maxBlockRows: Int
        var maxBlockBytes: Int
        var commitParallelism: Int
        var flushRows: Int
        var flushBytes: Int
        var flushInterval: ConfigDuration
        var columns: [String: String]
        var ignoreUnknownColumns: Bool
        var nullAsDefault: Bool
        var inputSchema: [String: String]?
        var settings: [String: SettingValue]
        var compression: String
        var connectTimeout: ConfigDuration
        var requestTimeout: ConfigDuration
        var openTimeout: ConfigDuration
        var retry: Retry
        var tls: TLS

        /// The `tls` block: how an https:// URL is verified, and the client certificate.
        struct TLS: Decodable {
            var caFile: String?
            var certFile: String?
            var keyFile: String?
            var verifyHostname = true
            var insecureSkipVerify = false
            /// The client certificate authenticates `user` (ClickHouse's certificate authentication).
            var certificateAuthentication = false

            enum CodingKeys: String, CodingKey {
                case caFile = "ca_file", certFile = "cert_file", keyFile = "key_file"
                case verifyHostname = "verify_hostname", insecureSkipVerify = "insecure_skip_verify"
                case certificateAuthentication = "certificate_authentication"
            }

            init() {}

            init(from decoder: Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                caFile = try c.decodeIfPresent(String.self, forKey: .caFile)
                certFile = try c.decodeIfPresent(String.self, forKey: .certFile)
                keyFile = try c.decodeIfPresent(String.self, forKey: .keyFile)
                verifyHostname = try c.decodeIfPresent(Bool.self, forKey: .verifyHostname) ?? true
                insecureSkipVerify = try c.decodeIfPresent(Bool.self, forKey: .insecureSkipVerify) ?? false
                certificateAuthentication = try c.decodeIfPresent(Bool.self, forKey: .certificateAuthentication) ?? false
            }

            var isGiven: Bool { settings.isCustomized || certificateAuthentication }

            var settings: TLSSettings {
                var settings = TLSSettings(names: .clickHouse)
                settings.trustFile = caFile
                settings.certificateFile = certFile
                settings.keyFile = keyFile
                settings.verifyHostname = verifyHostname
                settings.verifyCertificate = !insecureSkipVerify
                return settings
            }
        }

        struct Retry: Decodable {
            var initialDelay = ConfigDuration(.milliseconds(100))
            var maxDelay = ConfigDuration(.seconds(10))
            var multiplier = 2.0
            /// 0: forever.
            var maxAttempts = 0

            enum CodingKeys: String, CodingKey {
                case initialDelay = "initial_delay", maxDelay = "max_delay", multiplier, maxAttempts = "max_attempts"
            }

            init() {}

            init(from decoder: Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                let defaults = Retry()
                initialDelay = try c.decodeIfPresent(ConfigDuration.self, forKey: .initialDelay) ?? defaults.initialDelay
                maxDelay = try c.decodeIfPresent(ConfigDuration.self, forKey: .maxDelay) ?? defaults.maxDelay
                multiplier = try c.decodeIfPresent(Double.self, forKey: .multiplier) ?? defaults.multiplier
                maxAttempts = try c.decodeIfPresent(Int.self, forKey: .maxAttempts) ?? defaults.maxAttempts
            }
        }

        enum CodingKeys: String, CodingKey {
            case url, database, table, user, password, mode, columns, settings, compression, retry, tls
            case passwordEnv = "password_env", passwordFile = "password_file"
            case maxBlockRows = "max_block_rows", maxBlockBytes = "max_block_bytes", commitParallelism = "commit_parallelism"
            case flushRows = "flush_rows", flushBytes = "flush_bytes", flushInterval = "flush_interval"
            case ignoreUnknownColumns = "ignore_unknown_columns", nullAsDefault = "null_as_default", inputSchema = "input_schema"
            case connectTimeout = "connect_timeout", requestTimeout = "request_timeout", openTimeout = "open_timeout"
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            func optional<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T { try c.decodeIfPresent(T.self, forKey: key) ?? fallback }
            url = try c.decode(String.self, forKey: .url)
            database = try optional(.database, "default")
            table = try c.decode(String.self, forKey: .table)
            user = try optional(.user, "default")
            password = try c.decodeSecret(named: "password", value: .password, environmentVariable: .passwordEnv, file: .passwordFile)
            mode = try c.decodeIfPresent(String.self, forKey: .mode)
            maxBlockRows = try optional(.maxBlockRows, 262_144)
            maxBlockBytes = try optional(.maxBlockBytes, 8 << 20)
            commitParallelism = max(1, try optional(.commitParallelism, 2))
            flushRows = try optional(.flushRows, 100_000)
            flushBytes = try optional(.flushBytes, 16 << 20)
            flushInterval = try optional(.flushInterval, ConfigDuration(.seconds(1)))
            columns = try optional(.columns, [:])
            ignoreUnknownColumns = try optional(.ignoreUnknownColumns, false)
            nullAsDefault = try optional(.nullAsDefault, false)
            inputSchema = try c.decodeIfPresent([String: String].self, forKey: .inputSchema)
            settings = try optional(.settings, [:])
            compression = try optional(.compression, "none")
            connectTimeout = try optional(.connectTimeout, ConfigDuration(.seconds(5)))
            requestTimeout = try optional(.requestTimeout, ConfigDuration(.seconds(300)))
            openTimeout = try optional(.openTimeout, ConfigDuration(.seconds(30)))
            retry = try optional(.retry, Retry())
            tls = try optional(.tls, TLS())
        }

        var mapping: ColumnMapping {
            ColumnMapping(renames: columns, ignoreUnknownColumns: ignoreUnknownColumns, nullAsDefault: nullAsDefault)
        }
        var retryPolicy: ClickHouseClient.RetryPolicy {
            ClickHouseClient.RetryPolicy(initialDelay: retry.initialDelay.seconds, maxDelay: retry.maxDelay.seconds,
                                         multiplier: retry.multiplier, maxAttempts: retry.maxAttempts > 0 ? retry.maxAttempts : nil)
        }
    }

    public static let configSchema = #"""
    {"type":"object","required":["url","table"],"additionalProperties":false,
     "properties":{
      "url":{"type":"string","minLength":1,"description":"http://host:8123 or https://host:8443 (no credentials in the URL)"},
      "database":{"type":"string","minLength":1,"default":"default"},
      "table":{"type":"string","minLength":1},
      "user":{"type":"string","default":"default"},
      "password":{"type":"string","description":"prefer password_env or password_file"},
      "password_env":{"type":"string","minLength":1,"description":"name of an environment variable holding the password"},
      "password_file":{"type":"string","minLength":1,"description":"file holding the password (one line)"},
      "mode":{"type":"string","enum":["exactly-once","at-least-once"],"description":"default: the pipeline's checkpointing mode"},
      "max_block_rows":{"type":"integer","minimum":1,"default":262144,"description":"rows per INSERT block (exactly-once staging)"},
      "max_block_bytes":{"type":"integer","minimum":1024,"default":8388608,"description":"bytes per INSERT block (exactly-once staging)"},
      "commit_parallelism":{"type":"integer","minimum":1,"maximum":16,"default":2,"description":"exactly-once: blocks of a sealed epoch inserted at the same time, each idempotent by its own query_id"},
      "flush_rows":{"type":"integer","minimum":1,"default":100000,"description":"at-least-once: insert when a batch reaches this many rows"},
      "flush_bytes":{"type":"integer","minimum":1024,"default":16777216,"description":"at-least-once: ... or this many bytes"},
      "flush_interval":{"type":["string","number"],"default":"1s","description":"at-least-once: ... or is this old"},
      "columns":{"type":"object","additionalProperties":{"type":"string"},"description":"input column -> table column; \"\" drops the column"},
      "ignore_unknown_columns":{"type":"boolean","default":false},
      "null_as_default":{"type":"boolean","default":false,"description":"a NULL into a non-Nullable column writes the type's zero instead of failing"},
      "input_schema":{"type":"object","additionalProperties":{"type":"string"},"description":"optional: input column -> Arrow type (int64, utf8, timestamp[ms], ...), so types are checked at open"},
      "settings":{"type":"object","additionalProperties":{"type":["string","number","boolean"]},"description":"ClickHouse settings sent with every query"},
      "compression":{"type":"string","enum":["none","gzip"],"default":"none"},
      "connect_timeout":{"type":["string","number"],"default":"5s"},
      "request_timeout":{"type":["string","number"],"default":"300s"},
      "open_timeout":{"type":["string","number"],"default":"30s","description":"how long open retries an unreachable server"},
      "retry":{"type":"object","additionalProperties":false,"properties":{
        "initial_delay":{"type":["string","number"],"default":"100ms"},
        "max_delay":{"type":["string","number"],"default":"10s"},
        "multiplier":{"type":"number","minimum":1,"default":2},
        "max_attempts":{"type":"integer","minimum":0,"default":0,"description":"0: retry forever"}}},
      "tls":{"type":"object","additionalProperties":false,"description":"https:// only","properties":{
        "ca_file":{"type":"string","minLength":1,"description":"PEM file of the CAs to trust (default: the system's trust store)"},
        "cert_file":{"type":"string","minLength":1,"description":"client certificate (PEM) for mutual TLS"},
        "key_file":{"type":"string","minLength":1,"description":"the client certificate's private key (PEM)"},
        "verify_hostname":{"type":"boolean","default":true,"description":"the server's certificate must name the URL's host"},
        "insecure_skip_verify":{"type":"boolean","default":false,"description":"accept any certificate (logged as a warning; never in production)"},
        "certificate_authentication":{"type":"boolean","default":false,"description":"the client certificate authenticates user, no password (ClickHouse 22.3+)"}}}
     }}
    """#

    public static func validate(_ config: Config) throws {
        guard let url = URL(string: config.url), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty else {
            throw PluginError("url must be http://HOST[:PORT] or https://HOST[:PORT], got '\(config.url)'", configPath: "/url")
        }
        if url.user != nil || url.password != nil {
            throw PluginError("url must not carry credentials; use user and password_env or password_file", configPath: "/url")
        }
        if url.query != nil {
            throw PluginError("url must not carry a query string; put ClickHouse settings under 'settings'", configPath: "/url")
        }
        if let problem = config.password.problems().first { throw problem }
        if scheme == "http" && config.tls.isGiven {
            // Never a silent downgrade: TLS settings on a plaintext URL are a mistake.
            throw PluginError("tls settings are given but url \(config.url) is plaintext: use https://", configPath: "/url")
        }
        // The files are read when connecting (validate --connect, open).
        if let problem = config.tls.settings.structuralProblems().first {
            throw PluginError(problem.message, configPath: "/tls/" + problem.option.replacingOccurrences(of: "tls.", with: ""))
        }
        if config.tls.certificateAuthentication {
            if config.tls.certFile == nil {
                throw PluginError("tls.certificate_authentication needs tls.cert_file and tls.key_file: the certificate is the credential", configPath: "/tls/certificate_authentication")
            }
            if config.password.isGiven {
                throw PluginError("tls.certificate_authentication sends no password: remove the password", configPath: "/tls/certificate_authentication")
            }
        }
        if let schema = config.inputSchema {
            for (name, type) in schema.sorted(by: { $0.key < $1.key }) where ArrowFormat(typeName: type) == nil {
                throw PluginError("input_schema: '\(type)' for column '\(name)' is not an Arrow type (use bool, int8...int64, uint8...uint64, float32, float64, utf8, binary, date32, timestamp[s|ms|us|ns])", configPath: "/input_schema/\(name)")
            }
        }
        for key in config.settings.keys where ["query", "query_id", "database", "user", "password"].contains(key) {
            throw PluginError("settings: '\(key)' is set by the sink itself", configPath: "/settings/\(key)")
        }
        if config.flushInterval.duration <= .zero { throw PluginError("flush_interval must be positive", configPath: "/flush_interval") }
    }
}
