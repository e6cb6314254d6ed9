/// "Did you mean" suggestions for misspelt keys.
enum KeySuggestion {
    /// The message for a key that is not in `knownKeys`, e.g.
    /// `unknown key 'intervall' in checkpointing; did you mean 'interval'? Known keys: ...`.
    /// `context` ("in checkpointing") is omitted when empty.
    static func unknownKeyMessage(_ key: String, context: String, knownKeys: [String]) -> String {
        var message = "unknown key '\(key)'"
        if !context.isEmpty { message += " \(context)" }
        if let suggestion = closest(to: key, in: knownKeys) {
            message += "; did you mean '\(suggestion)'?"
        }
        if !knownKeys.isEmpty {
            let list = knownKeys.joined(separator: ", ")
            message += message.hasSuffix("?") ? " Known keys: \(list)" : "; known keys: \(list)"
        }
        return message
    }

    /// The candidate nearest to `key` when it is near enough to be a likely typo: at most a
    /// third of its length away (and at least 1, so short keys still get suggestions). Case is
    /// ignored, so "Interval" suggests "interval".
    static func closest(to key: String, in candidates: [String]) -> String? {
        let lowered = key.lowercased()
        let scored = candidates.map { (candidate: $0, distance: editDistance(lowered, $0.lowercased())) }
        guard let best = scored.min(by: { $0.distance < $1.distance }) else { return nil }
        let limit = max(1, best.candidate.count / 3)
        return best.distance <= limit ? best.candidate : nil
    }

    // MARK: - Distance

    /// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
    /// adjacent characters each cost 1, since swapped letters are the most common typo.
    static func editDistance(_ lhs: String, _ rhs: String) -> Int {
        let a = Array(lhs), b = Array(rhs)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}
