@_exported import PluginABI
// Crash-safe file writes for plugins that stage epochs: `DurableFile`.
@_exported import DurableFiles
@_exported import SluiceArrow
// Durations and secrets, the same in every plugin's configuration.
@_exported import ConfigValues

/// What every Swift plugin implements. The plugin kit turns it into the C descriptor of
/// `sluice_plugin.h`, so a Swift plugin never touches the raw ABI.
///
/// Threads: the host calls every instance method from the instance's operator thread, one call
/// at a time, so conforming types need no locks for their own state. `validate` runs on any
/// thread with no instance.
public protocol SluicePlugin: AnyObject {
    /// The configuration, decoded from the JSON the host passes (the YAML block). Decoding
    /// errors are reported with the path of the offending key, so the host can point at the
    /// YAML line and column.
    associatedtype Config: Decodable

    static var name: String { get }
    static var version: String { get }
    static var description: String { get }
    /// JSON Schema of `Config`; the host checks blocks against it before `validate`.
    static var configSchema: String { get }

    /// Checks a decoded configuration without side effects: no connection, no file created.
    static func validate(_ config: Config) throws

    /// The columns this operator will emit (ABI 1.1 `output_schema`), given a configuration
    /// that passed `validate` and the columns of its input (nil for a source). Any thread, no
    /// instance. Throw a `PluginError` whose `configPath` names the configuration value at
    /// fault (e.g. "/args/1") when the input lacks a column or has a type the configuration
    /// cannot take. Return nil (the default) when the schema is unknown until run time: the
    /// host then skips column checks downstream of this operator.
    static func outputSchema(config: Config, input: [ArrowField]?) throws -> [ArrowField]?

    /// Creates the instance; must not connect anywhere yet.
    init(config: Config, host: PluginHost) throws

    /// Connects; called after `restore` when resuming from a checkpoint.
    func open() throws
    func close() throws

    /// Returns the state that resumes exactly at this barrier (a sink seals its epoch here).
    func snapshot(checkpointID: UInt64) throws -> [UInt8]
    /// Receives what `snapshot(checkpointID)` returned, before `open`.
    func restore(checkpointID: UInt64, state: [UInt8]) throws
    /// The checkpoint is durable: commit (sink) or acknowledge (source). Must be idempotent.
    func checkpointComplete(checkpointID: UInt64) throws
    func checkpointAborted(checkpointID: UInt64)
}

public extension SluicePlugin {
    static func validate(_ config: Config) throws {}
    static func outputSchema(config: Config, input: [ArrowField]?) throws -> [ArrowField]? { nil }
    func open() throws {}
    func close() throws {}
    func snapshot(checkpointID: UInt64) throws -> [UInt8] { [] }
    func restore(checkpointID: UInt64, state: [UInt8]) throws {}
    func checkpointComplete(checkpointID: UInt64) throws {}
    func checkpointAborted(checkpointID: UInt64) {}
}

/// What a source's `next` produced.
public enum SourceOutput {
    case batch(ArrowBatch)
    /// Nothing now (after waiting at most ~50 ms); the host asks again.
    case noData
    case endOfStream
}

public protocol SourcePlugin: SluicePlugin {
    func next() throws -> SourceOutput
}

public protocol TransformPlugin: SluicePlugin {
    /// Consumes `batch` and returns the output (which may be `batch` itself). Rejected rows go
    /// to `host.reject` before the input is released.
    func process(_ batch: ArrowBatch) throws -> ArrowBatch
}

public protocol SinkPlugin: SluicePlugin {
    func write(_ batch: ArrowBatch) throws
}

/// An error a plugin reports to the host; `configPath` (a JSON Pointer such as "/directory")
/// lets the host name the YAML line and column of a configuration error.
public struct PluginError: Error, CustomStringConvertible {
    public var message: String
    public var configPath: String?

    public init(_ message: String, configPath: String? = nil) {
        self.message = message
        self.configPath = configPath
    }

    public var description: String { message }
}
