import Yams

/// Converts the node tree Yams parsed into `ConfigValue`s: interpolates `${VAR}` references,
/// types plain scalars by the YAML 1.2 core schema, and applies merge keys (`<<`), collecting
/// every problem on the way.
struct YAMLTreeReader {
    /// The resolver to parse pipeline files with: none of Yams' rules (each is a regular
    /// expression, and those load ICU). Untagged plain scalars are typed here, after
    /// interpolation, by the YAML 1.2 core schema; `plainScalars` says which they are.
    static let resolver = Resolver.basic

    /// The file being read, for locations.
    let file: String
    /// The variables `${VAR}` references resolve against.
    let environment: [String: String]
    /// The references hidden from the parser, restored in each scalar before interpolation.
    let placeholders: ReferencePlaceholders?
    /// The untagged plain scalars of the text Yams parsed: typed by their text.
    let plainScalars: PlainScalars
    /// The problems found so far.
    private(set) var errors: [PipelineError] = []
    /// Scalars whose interpolation failed; their value is meaningless, so later checks should
    /// not pile a second error onto the same spot.
    private(set) var failedLocations: Set<SourceLocation> = []

    /// Creates a reader for `file`, whose nodes Yams parsed from `parsedText`.
    init(file: String, parsedText: String, environment: [String: String], placeholders: ReferencePlaceholders? = nil) {
        self.file = file
        self.environment = environment
        self.placeholders = placeholders
        plainScalars = PlainScalars(in: parsedText)
    }

    /// The value of `node` and everything below it.
    mutating func read(_ node: Node) -> ConfigValue {
        let location = SourceLocation(file: file, mark: node.mark)
        switch node {
        case let .scalar(scalar):
            return read(scalar, tag: plainScalars.contains(node.mark) ? nil : Tag.Name(rawValue: node.tag.rawValue), at: location)
        case let .sequence(sequence):
            return .array(sequence.map { read($0) }, location)
        case let .mapping(mapping):
            return .object(entries(of: mapping), location)
        case .alias:
            // Yams' parser replaces aliases by the anchored node; only trees built in code
            // contain `.alias`, and pipeline files are never built that way.
            report("unresolved YAML alias", at: location)
            return .null(location)
        }
    }

    // MARK: - Scalars

    /// The typed value of a scalar whose tag is `tag` (nil for an untagged plain scalar).
    private mutating func read(_ scalar: Node.Scalar, tag: Tag.Name?, at location: SourceLocation) -> ConfigValue {
        let text: String
        let written = placeholders?.restore(scalar.string) ?? scalar.string
        switch EnvironmentInterpolation.expand(written, environment: environment) {
        case let .success(expanded):
            text = expanded
        case let .failure(failure):
            report(failure.message, at: location)
            failedLocations.insert(location)
            text = written
        }
        // Quoted scalars, `!!str` and the non-specific tag `!` mean "a string"; untagged plain
        // scalars and other core tags (`!!int "5"`) are typed by their text.
        if let tag, tag == .str || tag == .nonSpecific { return .string(text, location) }
        return CoreSchema.resolve(text, at: location)
    }

    // MARK: - Mappings

    /// The entries of a mapping, merge keys applied: as in YAML 1.1's merge type, the mapping's
    /// own keys win over merged ones, and earlier merge sources win over later ones.
    private mutating func entries(of mapping: Node.Mapping) -> [ConfigValue.ObjectEntry] {
        var own: [ConfigValue.ObjectEntry] = []
        var merged: [ConfigValue.ObjectEntry] = []
        for (keyNode, valueNode) in mapping {
            let keyLocation = SourceLocation(file: file, mark: keyNode.mark)
            guard case let .scalar(key) = keyNode else {
                report("mapping keys must be plain text, not lists or mappings", at: keyLocation)
                continue
            }
            if plainScalars.contains(keyNode.mark) && key.string == "<<" {
                for entry in mergeSources(valueNode) where !merged.contains(where: { $0.key == entry.key }) {
                    merged.append(entry)
                }
            } else {
                own.append((key: placeholders?.restore(key.string) ?? key.string, keyLocation: keyLocation, value: read(valueNode)))
            }
        }
        return merged.filter { entry in !own.contains { $0.key == entry.key } } + own
    }

    /// The entries a merge key's value contributes: one mapping, or a list of mappings.
    private mutating func mergeSources(_ node: Node) -> [ConfigValue.ObjectEntry] {
        switch node {
        case let .mapping(mapping):
            return entries(of: mapping)
        case let .sequence(sequence) where sequence.allSatisfy({ $0.mapping != nil }):
            return sequence.compactMap(\.mapping).flatMap { entries(of: $0) }
        default:
            report("a merge key '<<' needs a mapping or a list of mappings",
                   at: SourceLocation(file: file, mark: node.mark))
            return []
        }
    }

    // MARK: - Errors

    /// Records a problem once: a node reached through several aliases is read several times.
    private mutating func report(_ message: String, at location: SourceLocation) {
        let error = PipelineError(location: location, message: message)
        if !errors.contains(error) { errors.append(error) }
    }
}
