/// Rendering a config value as the compact JSON handed to plugins.
extension ConfigValue {
    /// Compact JSON with object keys in YAML order. With `redactingSecrets`, the value of every
    /// key that looks like a secret (at any depth) becomes `"***"`.
    func jsonText(redactingSecrets: Bool = false) -> String {
        var output = ""
        appendJSON(to: &output, redactingSecrets: redactingSecrets)
        return output
    }

    // MARK: - Writing

    private func appendJSON(to output: inout String, redactingSecrets: Bool) {
        switch self {
        case .null:
            output += "null"
        case let .bool(value, _):
            output += value ? "true" : "false"
        case let .int(value, _):
            output += String(value)
        case let .double(value, _):
            // Only finite doubles exist in a ConfigValue (see CoreSchema), and Swift prints
            // those in a form JSON accepts ("1.5", "1e+20").
            output += String(value)
        case let .string(value, _):
            JSONText.appendString(value, to: &output)
        case let .array(elements, _):
            output += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { output += "," }
                element.appendJSON(to: &output, redactingSecrets: redactingSecrets)
            }
            output += "]"
        case let .object(entries, _):
            output += "{"
            for (index, entry) in entries.enumerated() {
                if index > 0 { output += "," }
                JSONText.appendString(entry.key, to: &output)
                output += ":"
                if redactingSecrets && SecretRedaction.isSecretKey(entry.key) {
                    output += "\"\(SecretRedaction.mask)\""
                } else {
                    entry.value.appendJSON(to: &output, redactingSecrets: redactingSecrets)
                }
            }
            output += "}"
        }
    }

}
