import Foundation
import PluginKit
import PulsarClient
import PulsarConnection

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
        var serviceURL: String
        var topic: String
        var payloadColumn: String
        var keyColumn: String
        var compression: CompressionCodec
        /// TLS and credentials.
        var connection: PulsarConnectionConfig

        enum CodingKeys: String, CodingKey {
            case topic, compression
            case serviceURL = "service_url", payloadColumn = "payload_column", keyColumn = "key_column"
        }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            serviceURL = try c.decode(String.self, forKey: .serviceURL)
            topic = try c.decode(String.self, forKey: .topic)
            payloadColumn = try c.decodeIfPresent(String.self, forKey: .payloadColumn) ?? "payload"
            keyColumn = try c.decodeIfPresent(String.self, forKey: .keyColumn) ?? "key"
            let codec = try c.decodeIfPresent(String.self, forKey: .compression) ?? "none"
            guard let compression = CompressionCodec(rawValue: codec) else {
                throw DecodingError.dataCorruptedError(forKey: .compression, in: c, debugDescription: "unknown compression '\(codec)': use none, lz4, zlib, zstd or snappy")
            }
            self.compression = compression
            connection = try PulsarConnectionConfig(from: decoder)
        }
    }

    static let name = "pulsar-sink"
    static let version = "1.0.0"
    static let description = "Publishes rows to a Pulsar topic, one message per row, committed per checkpoint"
    static let configSchema = #"""
    {"type":"object","required":["service_url","topic"],"additionalProperties":false,"properties":{
      "service_url":{"type":"string","description":"pulsar://host:port or pulsar+ssl://host:port"},
      "topic":{"type":"string"},
      "payload_column":{"type":"string","description":"binary or utf8 column with the message body (default payload)"},
      "key_column":{"type":"string","description":"utf8 column with the message key (default key, when present)"},
      "compression":{"type":"string","enum":["none","lz4","zlib","zstd","snappy"]},
    \#(PulsarConnectionConfig.schemaProperties)}}
    """#

    static func validate(_ config: Config) throws {
        do { _ = try ServiceURL(config.serviceURL) } catch { throw PluginError("\(error)", configPath: "/service_url") }
        do { _ = try TopicName(config.topic) } catch { throw PluginError("\(error)", configPath: "/topic") }
        if let problem = config.connection.problems(serviceURL: config.serviceURL).first { throw problem }
    }

    private let config: Config
    private let host: PluginHost
    private let staging: StagedMessages
    private let commit: TwoPhaseCommit<StagedMessages>
    private var client: PulsarClient?

    init(config: Config, host: PluginHost) throws {
        self.config = config
        self.host = host
        let laneSuffix = host.lane.count > 1 ? "@\(host.lane.index)" : ""
        staging = StagedMessages(staging: try host.staging(), messageIDPrefix: "\(host.pipelineName)/\(host.operatorName)\(laneSuffix)")
        commit = TwoPhaseCommit(store: staging)
    }

    func open() throws {
        var clientConfig: ClientConfiguration
        do {
            clientConfig = try config.connection.clientConfiguration(serviceURL: config.serviceURL) { [host] in host.log(.warn, $0) }
        } catch {
            throw PluginError("cannot connect to \(config.serviceURL): \(error)")
        }
        clientConfig.retryWhileStarting = !host.isConnectionCheck
        let client = PulsarClient(configuration: clientConfig)
        client.log = { [host] line in host.log(.info, line) }
        self.client = client
        var producerConfig = ProducerConfiguration(topic: try TopicName(config.topic))
        producerConfig.producerName = "sluice-\(host.pipelineName)-\(host.operatorName)" + (host.lane.count > 1 ? "-lane\(host.lane.index)" : "")
        producerConfig.compression = config.compression
        let producer = PulsarProducer(client: client, configuration: producerConfig)
        try producer.start().wait()
        staging.producer = producer
        try commit.prepare()
        // Epochs a restored checkpoint covers are committed: publish what may not have been.
        try commit.commitRestored()
    }

    func write(_ batch: ArrowBatch) throws {
        let view = try batch.view()
        let payloadName = config.payloadColumn
        guard let payload = view.column(named: payloadName), payload.format == .binary || payload.format == .utf8 else {
            throw PluginError("the input has no binary or utf8 column '\(payloadName)'; set payload_column")
        }
        let key = view.column(named: config.keyColumn).flatMap { $0.format == .utf8 ? $0 : nil }
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
        _ = try commit.seal(checkpointID: checkpointID)
        if !host.exactlyOnce { try commit.checkpointComplete(checkpointID: checkpointID) }
        return PendingEpochs.encode(commit.pending)
    }

    func checkpointComplete(checkpointID: UInt64) throws {
        try commit.checkpointComplete(checkpointID: checkpointID)
    }

    func restore(checkpointID: UInt64, state: [UInt8]) throws {
        try commit.restore(listing: PendingEpochs.decode(state, sink: PulsarSink.name))
    }

    func close() throws {
        staging.files.closeCurrent()
        try staging.producer?.close().wait()
        client?.shutdown()
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

/// The body of this plugin's C entry point; `Entry/Entry.swift` exports it as
/// `sluice_plugin_entry`, so that the plugin's code can be linked into tests without the symbol.
public func pulsarSinkEntry(_ host: UInt32, _ descriptor: UnsafeMutablePointer<UnsafePointer<sluice_plugin_descriptor>?>?,
               _ error: UnsafeMutablePointer<sluice_error>?) -> sluice_status {
    PluginExport.entry(PulsarSink.self, hostABIVersion: host, descriptor: descriptor, error: error)
}
