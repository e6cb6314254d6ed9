import Foundation
import PluginKit
import PulsarClient

/// The `pulsar-source` configuration block, decoded from the pipeline's YAML (as JSON).
public struct PulsarSourceConfig: Decodable {
    public var service_url: String
    public var topic: String?
    public var topics: [String]?
    public var subscription: String
    public var subscription_type: String?
    public var initial_position: String?
    public var receiver_queue_size: Int?
    public var max_batch_rows: Int?
    public var token: String?
    public var token_env: String?
    public var token_file: String?
    public var connection_timeout: DurationValue?
    public var operation_timeout: DurationValue?
    public var max_frame_size: Int?
    /// Ends the stream after this many messages in total (across restarts): for tests and
    /// benchmarks. Absent: the source runs until stopped.
    public var stop_after_messages: Int?

    public static let schema = #"""
    {"type":"object","required":["service_url","subscription"],"additionalProperties":false,
     "properties":{
      "service_url":{"type":"string","description":"pulsar://host:port"},
      "topic":{"type":"string","description":"persistent://tenant/namespace/topic or a short name (public/default)"},
      "topics":{"type":"array","items":{"type":"string"},"description":"Several topics"},
      "subscription":{"type":"string","description":"Subscription name"},
      "subscription_type":{"type":"string","enum":["exclusive","failover","shared","key_shared"],"default":"exclusive"},
      "initial_position":{"type":"string","enum":["earliest","latest"],"default":"earliest"},
      "receiver_queue_size":{"type":"integer","minimum":1,"maximum":1000000,"default":1000,"description":"Messages buffered per partition (flow permits)"},
      "max_batch_rows":{"type":"integer","minimum":1,"maximum":1048576,"default":4096},
      "token":{"type":"string","description":"Authentication token (prefer token_env or token_file)"},
      "token_env":{"type":"string","description":"Environment variable holding the token"},
      "token_file":{"type":"string","description":"File holding the token"},
      "connection_timeout":{"type":["string","number"],"default":"10s"},
      "operation_timeout":{"type":["string","number"],"default":"30s"},
      "max_frame_size":{"type":"integer","minimum":1024,"description":"Largest frame accepted, bytes (default 5 MiB + 10 KiB)"},
      "stop_after_messages":{"type":"integer","minimum":1,"description":"End the stream after this many messages (tests, benchmarks)"}
     }}
    """#

    // MARK: - Resolved values

    public var subscriptionType: SubscriptionType { SubscriptionType(rawValue: subscription_type ?? "exclusive") ?? .exclusive }
    public var initialPosition: InitialPosition { InitialPosition(rawValue: initial_position ?? "earliest") ?? .earliest }
    public var receiverQueueSize: Int { receiver_queue_size ?? 1000 }
    public var maxBatchRows: Int { max_batch_rows ?? 4096 }

    /// Every problem, each with the JSON Pointer of its value. Connects nowhere.
    public func problems() -> [PluginError] {
        var errors: [PluginError] = []
        do { _ = try ServiceURL(service_url) } catch {
            errors.append(PluginError("service_url '\(service_url)' is not a Pulsar service URL: expected pulsar://host:port", configPath: "/service_url"))
        }
        switch (topic, topics) {
        case (nil, nil), (nil, .some([])):
            errors.append(PluginError("give 'topic' or 'topics'", configPath: topics == nil ? "" : "/topics"))
        case (.some, .some):
            errors.append(PluginError("give either 'topic' or 'topics', not both", configPath: "/topics"))
        case (.some(let t), nil):
            do { _ = try TopicName(t) } catch { errors.append(PluginError("\(error)", configPath: "/topic")) }
        case (nil, .some(let list)):
            for (i, t) in list.enumerated() {
                do { _ = try TopicName(t) } catch { errors.append(PluginError("\(error)", configPath: "/topics/\(i)")) }
            }
        }
        if subscription.isEmpty { errors.append(PluginError("subscription must not be empty", configPath: "/subscription")) }
        if let t = subscription_type, SubscriptionType(rawValue: t) == nil {
            errors.append(PluginError("unknown subscription_type '\(t)': use exclusive, failover, shared or key_shared", configPath: "/subscription_type"))
        }
        if let p = initial_position, InitialPosition(rawValue: p) == nil {
            errors.append(PluginError("unknown initial_position '\(p)': use earliest or latest", configPath: "/initial_position"))
        }
        if receiverQueueSize < 1 { errors.append(PluginError("receiver_queue_size must be at least 1", configPath: "/receiver_queue_size")) }
        if maxBatchRows < 1 { errors.append(PluginError("max_batch_rows must be at least 1", configPath: "/max_batch_rows")) }
        let tokenSources = [token != nil, token_env != nil, token_file != nil].filter { $0 }.count
        if tokenSources > 1 {
            errors.append(PluginError("give at most one of token, token_env and token_file", configPath: "/token_file"))
        }
        if let path = token_file {
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) || isDirectory.boolValue {
                errors.append(PluginError("token_file '\(path)' does not exist", configPath: "/token_file"))
            } else if !FileManager.default.isReadableFile(atPath: path) {
                errors.append(PluginError("token_file '\(path)' is not readable", configPath: "/token_file"))
            }
        }
        if let name = token_env, name.isEmpty { errors.append(PluginError("token_env must name an environment variable", configPath: "/token_env")) }
        for (key, value) in [("connection_timeout", connection_timeout), ("operation_timeout", operation_timeout)] {
            if let value, value.seconds == nil || value.seconds! <= 0 {
                errors.append(PluginError("\(key) '\(value.text)' is not a duration such as 10s, 500ms or 2m", configPath: "/\(key)"))
            }
        }
        return errors
    }

    public func topicNames() throws -> [TopicName] {
        try (topics ?? [topic].compactMap { $0 }).map { try TopicName($0) }
    }

    /// The token from `token`, `token_env` or `token_file`; nil when none is configured.
    /// Errors name the source, never the token.
    public func resolveToken(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        if let token { return token }
        if let name = token_env {
            guard let value = environment[name], !value.isEmpty else {
                throw PluginError("token_env: the environment variable \(name) is not set", configPath: "/token_env")
            }
            return value.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        if let path = token_file {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw PluginError("token_file '\(path)' cannot be read", configPath: "/token_file")
            }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return nil
    }
}

/// A duration as YAML gives it: "250ms", "10s", "2m", "1h", "1.5s", or a number of seconds.
public struct DurationValue: Decodable, Equatable {
    public let text: String
    public let seconds: Double?

    public init(_ text: String) {
        self.text = text
        seconds = DurationValue.parse(text)
    }

    private init(text: String, seconds: Double?) {
        self.text = text
        self.seconds = seconds
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Double.self) {
            self.init(text: String(number), seconds: number)
        } else {
            self.init(try container.decode(String.self))
        }
    }

    static func parse(_ text: String) -> Double? {
        let t = text.trimmingCharacters(in: .whitespaces)
        for (suffix, factor) in [("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)] where t.hasSuffix(suffix) {
            return Double(t.dropLast(suffix.count)).map { $0 * factor }
        }
        return Double(t)
    }
}
