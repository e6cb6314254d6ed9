import CYaml

/// Refuses YAML whose aliases expand to more values than any pipeline needs, before anything
/// builds or walks the expanded tree.
///
/// Aliases let a dozen lines stand for billions of values (the "billion laughs" shape, as in
/// Kubernetes' CVE-2019-11253): each level of anchors repeats the one below. Building, hashing
/// or reading that tree takes minutes and gigabytes. Here libyaml's event stream is read once,
/// keeping for each anchor the number of values it expands to, so the check costs one pass over
/// the text whatever the aliases say.
enum AliasExpansionLimit {
    /// Values (scalars, sequences and mappings, aliases expanded) a pipeline file may hold.
    static let maximumValues = 100_000

    /// Where the file first exceeds the limit (1-based line and column of the alias), or nil.
    /// A file libyaml cannot parse returns nil here: the parser proper reports that error.
    static func firstExcess(in text: String, limit: Int = maximumValues) -> (line: Int, column: Int)? {
        // Only a file with aliases can expand beyond what it spells out.
        guard text.contains("*") else { return nil }
        var sizes: [String: Int] = [:]
        // One entry per open collection: its anchor and the values counted in it so far.
        var open: [(anchor: String?, count: Int)] = []
        var total = 0
        var excess: (line: Int, column: Int)?
        YAMLEvents.forEach(in: text) { event in
            var added = 0
            switch event.type {
            case YAML_SCALAR_EVENT:
                added = 1
                if let anchor = string(event.data.scalar.anchor) { sizes[anchor] = 1 }
            case YAML_ALIAS_EVENT:
                added = string(event.data.alias.anchor).flatMap { sizes[$0] } ?? 1
            case YAML_SEQUENCE_START_EVENT:
                open.append((string(event.data.sequence_start.anchor), 1))
            case YAML_MAPPING_START_EVENT:
                open.append((string(event.data.mapping_start.anchor), 1))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                guard let closed = open.popLast() else { return false }
                if let anchor = closed.anchor { sizes[anchor] = closed.count }
                added = closed.count
                // The collection's own count was already added to `total` as it grew.
                if open.isEmpty { return true }
                open[open.count - 1].count = min(open[open.count - 1].count + added, limit + 1)
                return true
            default:
                return true
            }
            if open.isEmpty { total += added } else {
                open[open.count - 1].count = min(open[open.count - 1].count + added, limit + 1)
            }
            let pending = open.reduce(0) { $0 + $1.count }
            if total + pending > limit || added > limit {
                excess = (Int(event.start_mark.line) + 1, Int(event.start_mark.column) + 1)
                return false
            }
            return true
        }
        return excess
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }
}
