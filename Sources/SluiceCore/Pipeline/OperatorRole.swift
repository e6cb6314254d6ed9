/// The place an operator holds in a pipeline.
public enum OperatorRole: Equatable, Sendable {
    /// The one operator that produces records.
    case source
    /// A transform, numbered from 1 in the order of the `transforms` list.
    case transform(Int)
    /// The one operator that consumes records at the end.
    case sink
    /// The optional sink that receives records other operators rejected.
    case deadLetter

    /// The name an operator gets when its block has no `name:` key.
    var defaultName: String {
        switch self {
        case .source: return "source"
        case let .transform(index): return "transform-\(index)"
        case .sink: return "sink"
        case .deadLetter: return "dead-letter"
        }
    }

    /// The word used for the role in messages, e.g. "sink" in `sink 'out': ...`.
    var noun: String {
        switch self {
        case .source: return "source"
        case .transform: return "transform"
        case .sink: return "sink"
        case .deadLetter: return "dead-letter"
        }
    }
}
