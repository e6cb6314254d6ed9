import Yams

/// A position in a pipeline file, used to point every error at the text that caused it.
///
/// Lines and columns are 1-based, as editors and compilers show them, so
/// `pipeline.yaml:7:3` can be pasted straight into an editor's "go to" prompt.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    /// The file as the user named it (not resolved to an absolute path).
    public var file: String
    /// 1-based line number.
    public var line: Int
    /// 1-based column number, counted in Unicode scalars (as libYAML counts them).
    public var column: Int

    /// Creates a location from its parts.
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `file:line:column`.
    public var description: String { "\(file):\(line):\(column)" }
}

// MARK: - Yams marks

extension SourceLocation {
    /// The location of a Yams mark in `file`; a node without a mark (Yams only builds those
    /// programmatically) falls back to the start of the file.
    init(file: String, mark: Mark?) {
        self.init(file: file, line: mark?.line ?? 1, column: mark?.column ?? 1)
    }
}
