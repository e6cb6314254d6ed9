import Foundation
import PluginKit

/// A duration in a configuration: a number of seconds, or "250ms", "5s", "2m", "1h".
struct ConfigDuration: Decodable, Equatable {
    let seconds: Double

    init(seconds: Double) { self.seconds = seconds }

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Double.self) {
            seconds = number
            return
        }
        let text = try container.decode(String.self)
        guard let parsed = ConfigDuration.parse(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(text)' is not a duration (examples: 250ms, 5s, 2m)")
        }
        seconds = parsed
    }

    static func parse(_ text: String) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces)
        for (suffix, factor) in [("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)] where t.hasSuffix(suffix) {
            if let v = Double(t.dropLast(suffix.count)), v >= 0 { return v * factor }
        }
        return Double(t).flatMap { $0 >= 0 ? $0 : nil }
    }
}

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
    /// The sink's YAML block (see the README's "ClickHouse sink" section).
    public struct Config: Decodable {
        var url: String
        var database: String?
        var table: String
        var user: String?
        var password: String?
        var password_env: String?
        var password_file: String?
        /// "exactly-once" or "at-least-once"; default: the pipeline's checkpointing mode.
        var mode: String?
        var max_block_rows: Int?
        var max_block_bytes: Int?
        var commit_parallelism: Int?
        var flush_rows: Int?
        var flush_bytes: Int?
        var flush_interval: ConfigDuration?
        var columns: [String: String]?
        var ignore_unknown_columns: Bool?
        var null_as_default: Bool?
        var input_schema: [String: String]?
        var settings: [String: SettingValue]?
        var compression: String?
        var connect_timeout: ConfigDuration?
        var request_timeout: ConfigDuration?
        var open_timeout: ConfigDuration?
        var retry: Retry?

        struct Retry: Decodable {
            var initial_delay: ConfigDuration?
            var max_delay: ConfigDuration?
            var multiplier: Double?
            /// 0 or absent: forever.
            var max_attempts: Int?
        }

        var databaseName: String { database ?? "default" }
        var userName: String { user ?? "default" }
        var maxBlockRows: Int { max_block_rows ?? 262_144 }
        var maxBlockBytes: Int { max_block_bytes ?? 64 << 20 }
        var commitParallelism: Int { max(1, commit_parallelism ?? 2) }
        var flushRows: Int { flush_rows ?? 100_000 }
        var flushBytes: Int { flush_bytes ?? 16 << 20 }
        var flushInterval: Double { flush_interval?.seconds ?? 1 }
        var mapping: ColumnMapping {
            ColumnMapping(renames: columns ?? [:], ignoreUnknownColumns: ignore_unknown_columns ?? false, nullAsDefault: null_as_default ?? false)
        }
        var retryPolicy: ClickHouseClient.RetryPolicy {
            ClickHouseClient.RetryPolicy(initialDelay: retry?.initial_delay?.seconds ?? 0.1, maxDelay: retry?.max_delay?.seconds ?? 10,
                                         multiplier: retry?.multiplier ?? 2,
                                         maxAttempts: (retry?.max_attempts ?? 0) > 0 ? retry!.max_attempts : nil)
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
      "max_block_bytes":{"type":"integer","minimum":1024,"default":67108864,"description":"bytes per INSERT block (exactly-once staging)"},
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
        "max_attempts":{"type":"integer","minimum":0,"default":0,"description":"0: retry forever"}}}
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
        let secrets = [config.password != nil, config.password_env != nil, config.password_file != nil].filter { $0 }.count
        if secrets > 1 {
            throw PluginError("give at most one of password, password_env and password_file", configPath: config.password_env != nil ? "/password_env" : "/password_file")
        }
        if let schema = config.input_schema {
            for (name, type) in schema.sorted(by: { $0.key < $1.key }) where ArrowSourceColumn.parseFormat(type) == nil {
                throw PluginError("input_schema: '\(type)' for column '\(name)' is not an Arrow type (use bool, int8...int64, uint8...uint64, float32, float64, utf8, binary, date32, timestamp[s|ms|us|ns])", configPath: "/input_schema/\(name)")
            }
        }
        for key in (config.settings ?? [:]).keys where ["query", "query_id", "database", "user", "password"].contains(key) {
            throw PluginError("settings: '\(key)' is set by the sink itself", configPath: "/settings/\(key)")
        }
        if let d = config.flush_interval?.seconds, d <= 0 { throw PluginError("flush_interval must be positive", configPath: "/flush_interval") }
    }

    /// The password from `password`, `password_env` or `password_file`; never logged.
    static func resolvePassword(_ config: Config, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        if let password = config.password { return password }
        if let name = config.password_env {
            guard let value = environment[name] else {
                throw PluginError("password_env names the environment variable \(name), which is not set", configPath: "/password_env")
            }
            return value
        }
        if let path = config.password_file {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw PluginError("password_file \(path) cannot be read", configPath: "/password_file")
            }
            var text = String(decoding: data, as: UTF8.self)
            while text.hasSuffix("\n") || text.hasSuffix("\r") { text.removeLast() }
            return text
        }
        return nil
    }
}
