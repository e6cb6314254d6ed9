import CYaml
import Yams

/// Where a YAML text's untagged plain scalars start. A plain scalar without a tag is typed by
/// its text (`5` is a number, `true` a boolean); a quoted one, a block scalar, or one tagged
/// `!!str` or `!` is a string.
///
/// Yams resolves tags with regular expressions, which on Linux run on ICU: they paged in 2.6 MB
/// of ICU's code and data in every sluice process, the supervisor and each worker. The
/// difference between "untagged" and "tagged `!!str`" is not kept in Yams' nodes, so it is
/// read here from libyaml's events instead: one more pass over a file of a few kilobytes.
struct PlainScalars {
    struct Position: Hashable {
        let line: Int
        let column: Int
    }

    private let starts: Set<Position>

    /// The 1-based positions, as Yams' marks give them, of every untagged plain scalar in
    /// `text`. A text libyaml cannot parse gives the scalars before the error: the parser
    /// proper reports it.
    init(in text: String) {
        starts = Self.untaggedPlainScalars(in: text)
    }

    private static func untaggedPlainScalars(in text: String) -> Set<Position> {
        var starts = Set<Position>()
        YAMLEvents.forEach(in: text) { event in
            if event.type == YAML_SCALAR_EVENT && event.data.scalar.tag == nil && event.data.scalar.plain_implicit == 1 {
                starts.insert(Position(line: Int(event.start_mark.line) + 1, column: Int(event.start_mark.column) + 1))
            }
            return true
        }
        return starts
    }

    /// Whether the scalar Yams marked at `mark` is plain and untagged.
    func contains(_ mark: Mark?) -> Bool {
        guard let mark else { return false }
        return starts.contains(Position(line: mark.line, column: mark.column))
    }
}
