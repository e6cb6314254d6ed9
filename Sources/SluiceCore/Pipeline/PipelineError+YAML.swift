import Yams

/// Turning Yams' parse errors into located pipeline errors.
extension PipelineError {
    /// The error for a YAML file that Yams could not parse, at the spot libYAML stopped.
    init(yamlError: YamlError, file: String) {
        switch yamlError {
        case let .scanner(context, problem, mark, _),
             let .parser(context, problem, mark, _),
             let .composer(context, problem, mark, _):
            // libYAML phrases context and problem to be read together: "while scanning a
            // simple key, could not find expected ':'".
            let text = context.map { "\($0.text), \(problem)" } ?? problem
            self.init(location: SourceLocation(file: file, mark: mark), message: "invalid YAML: \(text)")
        case let .reader(problem, offset, _, yaml):
            let location = offset.map { Self.location(ofCharacterOffset: $0, in: yaml, file: file) }
            self.init(location: location, message: "invalid YAML: \(problem)")
        case let .duplicatedKeysInMapping(duplicates, context):
            let keys = duplicates.map { "'\($0)'" }.joined(separator: ", ")
            let noun = duplicates.count == 1 ? "key" : "keys"
            // Yams only marks the first occurrence, so the message says where it points.
            self.init(
                location: SourceLocation(file: file, mark: context.mark),
                message: "duplicate \(noun) \(keys) in mapping (first written here); each key may appear only once"
            )
        default:
            self.init(location: nil, message: "\(file): invalid YAML: \(yamlError)")
        }
    }

    /// Line and column (1-based, counting Unicode scalars like libYAML) of the character at
    /// `offset`.
    private static func location(ofCharacterOffset offset: Int, in text: String, file: String) -> SourceLocation {
        var line = 1
        var lineStart = text.startIndex
        let target = text.index(text.startIndex, offsetBy: offset, limitedBy: text.endIndex) ?? text.endIndex
        for index in text[..<target].indices where text[index] == "\n" {
            line += 1
            lineStart = text.index(after: index)
        }
        return SourceLocation(file: file, line: line, column: text[lineStart..<target].unicodeScalars.count + 1)
    }
}
