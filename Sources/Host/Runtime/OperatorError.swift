/// A failure inside an operator: names the operator and plugin and carries the plugin's own
/// message.
struct OperatorError: Error, CustomStringConvertible {
    let operatorName: String
    let plugin: String
    let message: String
    /// The JSON Pointer the plugin gave with its error: the configuration value at fault. Set
    /// at run time, it means a restart cannot fix the failure (the same configuration or the
    /// same data fails again): the worker exits with EX_CONFIG and is not restarted.
    var configPath: String? = nil

    var description: String { "operator '\(operatorName)' (plugin \(plugin)): \(message)" }
}
