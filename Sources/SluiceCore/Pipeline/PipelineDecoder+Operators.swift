/// Decoding one operator block: `{ plugin: NAME, name: NAME, config: {...} }` or the shorthand
/// `{ PLUGIN: CONFIG }`.
extension PipelineDecoder {
    /// The keys an operator block may have.
    static let operatorKeys = ["plugin", "name", "config"]

    /// The operator `value` describes, and where its name comes from (the `name:` value, or
    /// the block for a default name) for duplicate-name errors.
    mutating func decodeOperator(
        _ value: ConfigValue, role: OperatorRole, sectionName: String, keyLocation: SourceLocation?
    ) -> (spec: OperatorSpec, nameLocation: SourceLocation) {
        if let shorthand = shorthand(value, role: role) {
            return (shorthand, value.location)
        }
        let block = section(value, name: sectionName, keyLocation: keyLocation, knownKeys: Self.operatorKeys)
            ?? Section(name: sectionName, location: value.location, entries: [])
        let plugin = string("plugin", in: block, required: true)
        let pluginLocation = block["plugin"]?.location ?? block.location
        let name = string("name", in: block, required: false, fallback: role.defaultName)
        let nameLocation = block["name"]?.location ?? value.location
        if let nameValue = block["name"] { checkName(name, key: "name", value: nameValue) }
        let spec = OperatorSpec(role: role, name: name, plugin: plugin, pluginLocation: pluginLocation,
                                config: config(block["config"], blockLocation: value.location))
        return (spec, nameLocation)
    }

    // MARK: - Forms

    /// The operator of a shorthand block `{ PLUGIN: CONFIG }`: one key that is not an operator
    /// key, whose value is a mapping or empty. Requiring a mapping keeps a misspelt
    /// `{ plugn: file-sink }` from passing as a plugin named "plugn"; it gets an
    /// unknown-key error with a suggestion instead.
    private mutating func shorthand(_ value: ConfigValue, role: OperatorRole) -> OperatorSpec? {
        guard let entries = value.objectEntries, entries.count == 1, let entry = entries.first,
              !Self.operatorKeys.contains(entry.key)
        else { return nil }
        switch entry.value {
        case .object, .null:
            return OperatorSpec(role: role, name: role.defaultName, plugin: entry.key,
                                pluginLocation: entry.keyLocation,
                                config: config(entry.value, blockLocation: value.location))
        default:
            return nil
        }
    }

    /// The `config:` value: a mapping, or an empty one when absent or empty.
    private mutating func config(_ value: ConfigValue?, blockLocation: SourceLocation) -> ConfigValue {
        switch value {
        case nil:
            return .object([], blockLocation)
        case let .null(location)?:
            return .object([], location)
        case let .object(entries, location)?:
            return .object(entries, location)
        case let value?:
            reportInvalid("config", value, expected: "a mapping (it is handed to the plugin as a JSON object)")
            return .object([], value.location)
        }
    }
}
