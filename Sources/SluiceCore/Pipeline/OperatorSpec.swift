/// One operator of a pipeline as written in the pipeline file: which plugin runs it and with
/// which configuration.
public struct OperatorSpec: Sendable {
    /// Where the operator sits in the pipeline.
    public var role: OperatorRole
    /// The `name:` key, or the role's default ("source", "transform-1", "sink", "dead-letter").
    /// Unique within the pipeline and made of `[A-Za-z0-9_.-]`, so it can name files and metrics.
    public var name: String
    /// The plugin as written: a name such as "file-sink", or a path (it contains "/" or ends in
    /// ".so"). Resolving it is the plugin loader's job, not the model's.
    public var plugin: String
    /// Where `plugin` was written, for "plugin not found" errors.
    public var pluginLocation: SourceLocation
    /// The `config:` block with the location of every value; an empty object located at the
    /// operator block when the block has no config.
    public var config: ConfigValue
    /// `config` as compact JSON, keys in YAML order: exactly what the plugin receives.
    public var configJSON: String

    /// Creates an operator; `configJSON` is derived from `config` so the two never disagree.
    public init(role: OperatorRole, name: String, plugin: String, pluginLocation: SourceLocation, config: ConfigValue) {
        self.role = role
        self.name = name
        self.plugin = plugin
        self.pluginLocation = pluginLocation
        self.config = config
        self.configJSON = config.jsonText()
    }

    /// How messages refer to the operator, e.g. `sink 'out'`; pass it as the `operatorName` of
    /// `ConfigSchemaValidator.validate`.
    public var label: String { "\(role.noun) '\(name)'" }

    /// The location of the config value a plugin named with a JSON Pointer (the `config_path`
    /// of `sluice_error`), e.g. "/columns/2/type". A path that does not exist resolves to its
    /// nearest existing ancestor, and an empty or malformed one to the config block itself, so
    /// a plugin's error always lands somewhere sensible.
    public func location(ofPointer pointer: String) -> SourceLocation {
        config.location(ofPointer: pointer)
    }
}
