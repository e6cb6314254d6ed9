/// A failure inside an operator: names the operator and plugin and carries the plugin's own
/// message.
struct OperatorError: Error, CustomStringConvertible {
    let operatorName: String
    let plugin: String
    let message: String

    var description: String { "operator '\(operatorName)' (plugin \(plugin)): \(message)" }
}
