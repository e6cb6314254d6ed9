import PluginKit

/// Drops every batch after counting its rows: the sink for engine benchmarks.
public final class NullSink: SinkPlugin {
    public struct Config: Decodable {}

    public static let name = "null-sink"
    public static let version = "1.0.0"
    public static let description = "Counts and discards every batch"
    public static let configSchema = #"{"type":"object","properties":{},"additionalProperties":false}"#

    private let host: PluginHost
    private var rows = 0
    private var batches = 0

    public init(config: Config, host: PluginHost) { self.host = host }

    public func write(_ batch: ArrowBatch) throws {
        rows += batch.length
        batches += 1
    }

    public func close() throws {
        host.log(.info, "discarded \(rows) rows in \(batches) batches")
    }
}

@_cdecl("sluice_plugin_entry")
public func sluicePluginEntry(_ host: UInt32, _ descriptor: UnsafeMutablePointer<UnsafePointer<sluice_plugin_descriptor>?>?,
                              _ error: UnsafeMutablePointer<sluice_error>?) -> sluice_status {
    PluginExport.entry(NullSink.self, hostABIVersion: host, descriptor: descriptor, error: error)
}
