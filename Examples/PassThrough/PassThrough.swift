import PluginKit

/// Hands every batch on unchanged, without a copy: the smallest possible transform, used to
/// measure what the engine itself costs per batch.
public final class PassThrough: TransformPlugin {
    public struct Config: Decodable {}

    public static let name = "pass-through"
    public static let version = "1.0.0"
    public static let description = "Passes every batch on unchanged"
    public static let configSchema = #"{"type":"object","properties":{},"additionalProperties":false}"#

    public init(config: Config, host: PluginHost) {}

    /// Emits exactly what it receives.
    public static func outputSchema(config: Config, input: [ArrowField]?) throws -> [ArrowField]? { input }

    public func process(_ batch: ArrowBatch) throws -> ArrowBatch { batch }
}

@_cdecl("sluice_plugin_entry")
public func sluicePluginEntry(_ host: UInt32, _ descriptor: UnsafeMutablePointer<UnsafePointer<sluice_plugin_descriptor>?>?,
                              _ error: UnsafeMutablePointer<sluice_error>?) -> sluice_status {
    PluginExport.entry(PassThrough.self, hostABIVersion: host, descriptor: descriptor, error: error)
}
