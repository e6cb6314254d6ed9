import PluginABI

/// The three kinds of plugin, as the descriptor declares them.
public enum PluginKind: String, Sendable {
    case source, transform, sink

    public init?(_ raw: sluice_plugin_kind) {
        switch raw {
        case SLUICE_KIND_SOURCE: self = .source
        case SLUICE_KIND_TRANSFORM: self = .transform
        case SLUICE_KIND_SINK: self = .sink
        default: return nil
        }
    }

    /// The kind an operator in this role must have.
    public init(role: OperatorRole) {
        switch role {
        case .source: self = .source
        case .transform: self = .transform
        case .sink, .deadLetter: self = .sink
        }
    }
}
