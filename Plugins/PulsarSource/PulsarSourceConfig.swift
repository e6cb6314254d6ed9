import Foundation
import PluginKit
import PulsarClient
import PulsarConnection

/// The `pulsar-source` configuration block, decoded from the pipeline's YAML (as JSON).
public struct PulsarSourceConfig: Decodable {
    public var serviceURL: String
    public var topic: String?
    public var topics: [String]?
    public var subscription: String
    /// As written: an unknown name is reported by `problems`, with the others.
    public var subscriptionTypeName: String
    public var initialPositionName: String
    public var receiverQueueSize: Int
    /// Payload bytes buffered per partition at most, beside `receiverQueueSize` messages.
    public var receiverQueueBytes: Int
    public var maxBatchRows: Int
    /// Payload bytes per emitted batch at most (at least one message).
    public var maxBatchBytes: Int
    /// TLS and credentials.
    public var connection: PulsarConnectionConfig
    public var connectionTimeout: ConfigDuration?
    public var operationTimeout: ConfigDuration?
    public var maxFrameSize: Int?
    /// Ends the stream after this many messages in total (across restarts): for tests and
    /// benchmarks. Absent: the source runs until stopped.
    public var stopAfterMessages: Int?
    /// The columns to emit, in the source's order whatever the order here; nil: all of them.
    /// Leaving out what nothing downstream reads (the properties and message id text above all)
    /// saves their per-row formatting.
    public var columns: [String]?

    enum CodingKeys: String, CodingKey {
        case topic, topics, subscription
        case serviceURL = "service_url", subscriptionType = "subscription_type", initialPosition = "initial_position"
        case receiverQueueSize = "receiver_queue_size", maxBatchRows = "max_batch_rows"
        case receiverQueueBytes = "receiver_queue_bytes", maxBatchBytes = "max_batch_bytes"
        case connectionTimeout = "connection_timeout", operationTimeout = "operation_timeout"
        case maxFrameSize = "max_frame_size", stopAfterMessages = "stop_after_messages", columns
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        serviceURL = try c.decode(String.self, forKey: .serviceURL)
        topic = try c.decodeIfPresent(String.self, forKey: .topic)
        topics = try c.decodeIfPresent([String].self, forKey: .topics)
        subscription = try c.decode(String.self, forKey: .subscription)
        subscriptionTypeName = try c.decodeIfPresent(String.self, forKey: .subscriptionType) ?? "exclusive"
        initialPositionName = try c.decodeIfPresent(String.self, forKey: .initialPosition) ?? "earliest"
        receiverQueueSize = try c.decodeIfPresent(Int.self, forKey: .receiverQueueSize) ?? 1000
        maxBatchRows = try c.decodeIfPresent(Int.self, forKey: .maxBatchRows) ?? 4096
        receiverQueueBytes = try c.decodeIfPresent(Int.self, forKey: .receiverQueueBytes) ?? 16 << 20
        maxBatchBytes = try c.decodeIfPresent(Int.self, forKey: .maxBatchBytes) ?? 4 << 20
        connection = try PulsarConnectionConfig(from: decoder)
        connectionTimeout = try c.decodeIfPresent(ConfigDuration.self, forKey: .connectionTimeout)
        operationTimeout = try c.decodeIfPresent(ConfigDuration.self, forKey: .operationTimeout)
        maxFrameSize = try c.decodeIfPresent(Int.self, forKey: .maxFrameSize)
        stopAfterMessages = try c.decodeIfPresent(Int.self, forKey: .stopAfterMessages)
        columns = try c.decodeIfPresent([String].self, forKey: .columns)
    }

    public static let schema = #"""
    {"type":"object","required":["service_url","subscription"],"additionalProperties":false,
     "properties":{
      "service_url":{"type":"string","description":"pulsar://host:port or pulsar+ssl://host:port"},
      "topic":{"type":"string","description":"persistent://tenant/namespace/topic or a short name (public/default)"},
      "topics":{"type":"array","items":{"type":"string"},"description":"Several topics"},
      "subscription":{"type":"string","description":"Subscription name"},
      "subscription_type":{"type":"string","enum":["exclusive","failover","shared","key_shared"],"default":"exclusive"},
      "initial_position":{"type":"string","enum":["earliest","latest"],"default":"earliest"},
      "receiver_queue_size":{"type":"integer","minimum":1,"maximum":1000000,"default":1000,"description":"Messages buffered per partition (flow permits)"},
      "max_batch_rows":{"type":"integer","minimum":1,"maximum":1048576,"default":4096},
      "receiver_queue_bytes":{"type":"integer","minimum":1024,"default":16777216,"description":"Payload bytes buffered per partition at most"},
      "max_batch_bytes":{"type":"integer","minimum":1024,"default":4194304,"description":"Payload bytes per emitted batch at most (one message at least)"},
    \#(PulsarConnectionConfig.schemaProperties),
      "connection_timeout":{"type":["string","number"],"default":"10s"},
      "operation_timeout":{"type":["string","number"],"default":"30s"},
      "max_frame_size":{"type":"integer","minimum":1024,"description":"Largest frame accepted, bytes (default 5 MiB + 10 KiB)"},
      "stop_after_messages":{"type":"integer","minimum":1,"description":"End the stream after this many messages (tests, benchmarks)"},
      "columns":{"type":"array","items":{"type":"string","enum":["payload","key","properties","publish_time","event_time","topic","partition","message_id"]},"minItems":1,"description":"The columns to emit (default: all); leave out what nothing downstream reads"}
     }}
    """#

    // MARK: - Resolved values

    public var subscriptionType: SubscriptionType { SubscriptionType(rawValue: subscriptionTypeName) ?? .exclusive }
    public var initialPosition: InitialPosition { InitialPosition(rawValue: initialPositionName) ?? .earliest }

    /// Every problem, each with the JSON Pointer of its value. Connects nowhere.
    public func problems() -> [PluginError] {
        var errors: [PluginError] = []
        do { _ = try ServiceURL(serviceURL) } catch {
            errors.append(PluginError("service_url '\(serviceURL)' is not a Pulsar service URL: expected pulsar://host:port or pulsar+ssl://host:port", configPath: "/service_url"))
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
        if SubscriptionType(rawValue: subscriptionTypeName) == nil {
            errors.append(PluginError("unknown subscription_type '\(subscriptionTypeName)': use exclusive, failover, shared or key_shared", configPath: "/subscription_type"))
        }
        if InitialPosition(rawValue: initialPositionName) == nil {
            errors.append(PluginError("unknown initial_position '\(initialPositionName)': use earliest or latest", configPath: "/initial_position"))
        }
        if receiverQueueSize < 1 { errors.append(PluginError("receiver_queue_size must be at least 1", configPath: "/receiver_queue_size")) }
        if maxBatchRows < 1 { errors.append(PluginError("max_batch_rows must be at least 1", configPath: "/max_batch_rows")) }
        if receiverQueueBytes < 1024 { errors.append(PluginError("receiver_queue_bytes must be at least 1024", configPath: "/receiver_queue_bytes")) }
        if maxBatchBytes < 1024 { errors.append(PluginError("max_batch_bytes must be at least 1024", configPath: "/max_batch_bytes")) }
        for (i, name) in (columns ?? []).enumerated() where !MessageBatchBuilder.columnNames.contains(name) {
            errors.append(PluginError("unknown column '\(name)': the source has \(MessageBatchBuilder.columnNames.joined(separator: ", "))", configPath: "/columns/\(i)"))
        }
        if columns?.isEmpty == true { errors.append(PluginError("columns must name at least one column", configPath: "/columns")) }
        errors += connection.problems(serviceURL: serviceURL)
        for (key, value) in [("connection_timeout", connectionTimeout), ("operation_timeout", operationTimeout)] {
            if let value, value.duration <= .zero {
                errors.append(PluginError("\(key) must be positive", configPath: "/\(key)"))
            }
        }
        return errors
    }

    /// The topics as written, for messages.
    public var topicList: String { (topics ?? [topic].compactMap { $0 }).joined(separator: ", ") }

    public func topicNames() throws -> [TopicName] {
        try (topics ?? [topic].compactMap { $0 }).map { try TopicName($0) }
    }
}
