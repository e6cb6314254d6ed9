import Foundation
import PluginKit
import PulsarClient

/// Writes rows to a Pulsar topic: one message per row, its payload from a binary or utf8
/// column, its key from an optional column, and every other column as a message property. Meant
/// for dead letters (the error reason, operator, source topic and message id travel as
/// properties).
///
/// Exactly-once as far as the broker allows: each epoch's messages are staged durably and sealed
/// on the barrier; they are published only when the checkpoint completes, and re-published
/// after a restore when the crash came before every receipt. Each message carries the property
/// `sluice-message-id` (pipeline/operator/epoch/index), a deterministic id a consumer or a
/// deduplicating broker can drop repeats by; the producer name is deterministic too.
final class PulsarSink: SinkPlugin {
    struct Config: Decodable {
        var service_url: String
        var topic: String
        var payload_column: String?
        var key_column: String?
        var compression: String?
        var token_env: String?
    }

    static let name = "pulsar-sink"
    static let version = "1.0.0"
    static let description = "Publishes rows to a Pulsar topic, one message per row, committed per checkpoint"
    static let configSchema = #"""
    {"type":"object","required":["service_url","topic"],"additionalProperties":false,"properties":{
      "service_url":{"type":"string","description":"pulsar://host:port"},
      "topic":{"type":"string"},
      "payload_column":{"type":"string","description":"binary or utf8 column with the message body (default payload)"},
      "key_column":{"type":"string","description":"utf8 column with the message key (default key, when present)"},
      "compression":{"type":"string","enum":["none","lz4","zlib","zstd","snappy"]},
      "token_env":{"type":"string","description":"environment variable holding the broker token"}}}
    """#

    static func validate(_ config: Config) throws {
        do { _ = try ServiceURL(config.service_url) } catch { throw PluginError("\(error)", configPath: "/service_url") }
        do { _ = try TopicName(config.topic) } catch { throw PluginError("\(error)", configPath: "/topic") }
        if let token = config.token_env, ProcessInfo.processInfo.environment[token] == nil {
            throw PluginError("token_env names \(token), which is not set", configPath: "/token_env")
        }
    }

    private let config: Config
    private let host: PluginHost
    private let staging: StagedMessages
    private var client: PulsarClient?
    private var producer: PulsarProducer?
    private var restoredCheckpoint: UInt64?

    init(config: Config, host: PluginHost) throws {
        self.config = config
        self.host = host
        staging = try StagedMessages(directory: host.stateDirectory)
    }

    func open() throws {
        var clientConfig = ClientConfiguration(
            serviceURL: try ServiceURL(config.service_url), token: config.token_env.flatMap { ProcessInfo.processInfo.environment[$0] })
        clientConfig.retryWhileStarting = !host.isConnectionCheck
        let client = PulsarClient(configuration: clientConfig)
        client.log = { [host] line in host.log(.info, line) }
        self.client = client
        var producerConfig = ProducerConfiguration(topic: try TopicName(config.topic))
        producerConfig.producerName = "sluice-\(host.pipelineName)-\(host.operatorName)"
        producerConfig.compression = CompressionCodec(rawValue: config.compression ?? "none") ?? .none
        let producer = PulsarProducer(client: client, configuration: producerConfig)
        try producer.start().wait()
        self.producer = producer
        // Epochs a restored checkpoint covers are committed: publish what may not have been.
        if let restored = restoredCheckpoint { try publish(upTo: restored) }
    }

    func write(_ batch: ArrowBatch) throws {
        let view = try batch.view()
        let payloadName = config.payload_column ?? "payload"
        guard let payload = view.column(named: payloadName), payload.format == .binary || payload.format == .utf8 else {
            throw PluginError("the input has no binary or utf8 column '\(payloadName)'; set payload_column")
        }
        let key = view.column(named: config.key_column ?? "key").flatMap { $0.format == .utf8 ? $0 : nil }
        let others = view.columns.filter { $0.name != payload.name && $0.name != key?.name }
        for row in 0..<view.length {
            let properties = others.compactMap { column -> (String, String)? in
                column.isNull(row) ? nil : (column.name, PulsarSink.text(column, row))
            }
            try staging.append(payload: payload.isNull(row) ? [] : Array(payload.bytes(row)),
                               key: key.flatMap { $0.isNull(row) ? nil : $0.string(row) }, properties: properties)
        }
    }

    func snapshot(checkpointID: UInt64) throws -> [UInt8] {
        try staging.seal(epoch: checkpointID)
        if !host.exactlyOnce { try publish(upTo: checkpointID) }
        return staging.pendingState()
    }

    func checkpointComplete(checkpointID: UInt64) throws {
        try publish(upTo: checkpointID)
    }

    func restore(checkpointID: UInt64, state: [UInt8]) throws {
        try staging.restore(state, checkpoint: checkpointID)
        restoredCheckpoint = checkpointID
    }

    func close() throws {
        try producer?.close().wait()
        client?.shutdown()
    }

    /// Publishes every sealed epoch up to `checkpoint`, waits for the broker's receipts, then
    /// forgets the epoch.
    private func publish(upTo checkpoint: UInt64) throws {
        guard let producer else { return }
        for epoch in staging.pending where epoch <= checkpoint {
            var index = 0
            try staging.forEachMessage(in: epoch) { payload, key, properties in
                var all = properties
                all.append(("sluice-message-id", "\(host.pipelineName)/\(host.operatorName)/\(epoch)/\(index)"))
                try producer.send(OutgoingMessage(bytes: payload, key: key, properties: all))
                index += 1
            }
            try producer.flush().wait()
            try staging.forget(epoch)
        }
    }

    /// A column value as a property string.
    static func text(_ column: ArrowColumnView, _ row: Int) -> String {
        switch column.format {
        case .utf8, .binary: return column.string(row)
        case .boolean: return column.bool(row) ? "true" : "false"
        case .float32: return String(column.fixed(row, as: Float.self))
        case .float64: return String(column.fixed(row, as: Double.self))
        case .uint64: return String(column.fixed(row, as: UInt64.self))
        default: return String(column.int64(row))
        }
    }
}

@_cdecl("sluice_plugin_entry")
public func sluicePluginEntry(_ host: UInt32, _ descriptor: UnsafeMutablePointer<UnsafePointer<sluice_plugin_descriptor>?>?,
                              _ error: UnsafeMutablePointer<sluice_error>?) -> sluice_status {
    PluginExport.entry(PulsarSink.self, hostABIVersion: host, descriptor: descriptor, error: error)
}
