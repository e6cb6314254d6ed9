/// A failure inside an operator: names the operator and plugin and carries the plugin's own
/// message.
struct OperatorError: Error, CustomStringConvertible {
    let operatorName: String
    let plugin: String
    let message: String
    /// The JSON Pointer the plugin gave with its error: the configuration value at fault.
    var configPath: String? = nil
    /// A restart cannot fix this failure (the same configuration or the same input fails again):
    /// the worker exits with EX_CONFIG and is not restarted. A plugin says so by pointing at its
    /// configuration (`configPath`) when a call made at run time fails.
    var isPermanent = false

    var description: String { "operator '\(operatorName)' (plugin \(plugin)): \(message)" }
}
