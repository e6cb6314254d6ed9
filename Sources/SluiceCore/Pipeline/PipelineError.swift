/// One problem found in a pipeline file, pointing at the text that caused it when it can.
public struct PipelineError: Error, Equatable, CustomStringConvertible {
    /// Where the problem is; `nil` when it concerns the file as a whole (e.g. it cannot be read).
    public var location: SourceLocation?
    /// What is wrong and, where it helps, how to fix it. Never contains a secret value.
    public var message: String

    /// Creates an error with an optional location.
    public init(location: SourceLocation?, message: String) {
        self.location = location
        self.message = message
    }

    /// `file:line:column: message`, or just the message when there is no location.
    public var description: String {
        guard let location else { return message }
        return "\(location): \(message)"
    }
}

/// Every problem found in a pipeline file, so the user can fix them all in one pass.
public struct PipelineErrors: Error, CustomStringConvertible {
    /// The problems, in file order (errors without a location first).
    public var errors: [PipelineError]

    /// Wraps `errors`, ordering them by position in the file.
    public init(_ errors: [PipelineError]) {
        // The index breaks ties so errors at one spot keep the order in which they were found.
        self.errors = errors.enumerated()
            .sorted { PipelineErrors.sortKey($0) < PipelineErrors.sortKey($1) }
            .map(\.element)
    }

    /// One error per line.
    public var description: String {
        errors.map(\.description).joined(separator: "\n")
    }

    // MARK: - Ordering

    /// Line, column and discovery order; errors without a location sort before line 1.
    private static func sortKey(_ entry: (offset: Int, element: PipelineError)) -> (Int, Int, Int) {
        let location = entry.element.location
        return (location?.line ?? 0, location?.column ?? 0, entry.offset)
    }
}
