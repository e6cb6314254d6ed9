/// The state one operator returned for a checkpoint barrier.
///
/// A value type; any thread may use it.
public struct OperatorSnapshot: Equatable, Sendable {
    /// The operator's name in the pipeline, unique within it.
    public var operatorName: String
    /// The plugin that implements the operator, recorded so a restore can tell when the
    /// pipeline now maps the operator to a different plugin.
    public var plugin: String
    /// Opaque state bytes; only the plugin understands them.
    public var state: [UInt8]

    /// Any thread may call this.
    public init(operatorName: String, plugin: String, state: [UInt8]) {
        self.operatorName = operatorName
        self.plugin = plugin
        self.state = state
    }
}
