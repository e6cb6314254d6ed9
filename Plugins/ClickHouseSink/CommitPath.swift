/// How exactly-once commits are made idempotent on the connected server, and the settings each
/// INSERT carries for it. Pure: the sink asks the server, this decides.
enum CommitPath: Equatable {
    /// `insert_deduplication_token` (ClickHouse 22.2+, on a table that deduplicates).
    case deduplicationToken
    /// query_id looked up in system.processes, then system.query_log after SYSTEM FLUSH LOGS.
    case queryLog

    /// What the server and table say about deduplication, as read by the sink.
    struct TableFacts {
        /// The table's engine (`MergeTree`, `ReplicatedMergeTree`, `Log`, ...).
        var engine: String
        /// Its CREATE statement, for a `non_replicated_deduplication_window` in SETTINGS.
        var createQuery: String
        /// The server's default `non_replicated_deduplication_window`, if it has the setting.
        var serverWindow: Int?
    }

    /// The first version with `insert_deduplication_token`.
    static let tokenVersion = [22, 2]
    /// The first version with `async_insert` (on by default since 26.2).
    static let asyncInsertVersion = [21, 11]

    /// Whether `version` needs the table's facts to decide (22.2 and later).
    static func needsTableFacts(version: [Int]) -> Bool {
        !version.lexicographicallyPrecedes(tokenVersion)
    }

    /// The path for a server of `version` and, from 22.2 on, a table with `facts`; and why, in
    /// words for the log.
    static func choose(version: [Int], versionText: String, table: String, facts: TableFacts?) -> (CommitPath, String) {
        guard needsTableFacts(version: version), let facts else {
            return (.queryLog, "idempotent by query_id: server \(versionText) has no insert_deduplication_token (added in 22.2), so after a restore each block's query_id is waited for in system.processes and looked up in system.query_log after SYSTEM FLUSH LOGS")
        }
        let engine = facts.engine
        if engine.hasPrefix("Replicated") {
            return (.deduplicationToken, "idempotent by insert_deduplication_token (server \(versionText) has it, since 22.2; \(engine) deduplicates inserts) plus a deterministic query_id per block")
        }
        if engine.hasSuffix("MergeTree") {
            let window = tableSetting("non_replicated_deduplication_window", in: facts.createQuery) ?? facts.serverWindow ?? 0
            if window > 0 {
                return (.deduplicationToken, "idempotent by insert_deduplication_token (server \(versionText) has it, since 22.2; \(engine) keeps the last \(window) block ids: non_replicated_deduplication_window) plus a deterministic query_id per block")
            }
            return (.queryLog, "idempotent by query_id: server \(versionText) has insert_deduplication_token, but \(engine) table \(table) has non_replicated_deduplication_window = 0, so after a restore each block's query_id is looked up in system.processes and system.query_log (set the window on the table to use the token)")
        }
        return (.queryLog, "idempotent by query_id: engine \(engine) does not deduplicate, so after a restore each block's query_id is looked up in system.processes and system.query_log")
    }

    /// The settings of one INSERT. Everything the commit relies on is set explicitly, whatever
    /// the server's or the user's defaults: `async_insert=0` where the server has it (an async
    /// insert is acknowledged before it is written, and async inserts with deduplication tokens
    /// have lost data, ClickHouse#111031), the token and `insert_deduplicate=1` on the token path,
    /// and `log_queries=1` on the query-log path (the lookup after a restore needs the entry).
    static func insertSettings(queryID: String, version: [Int], exactlyOnce: Bool, path: CommitPath) -> [String: String] {
        var settings = ["query_id": queryID]
        if !version.lexicographicallyPrecedes(asyncInsertVersion) { settings["async_insert"] = "0" }
        guard exactlyOnce else { return settings }
        switch path {
        case .deduplicationToken:
            settings["insert_deduplication_token"] = queryID
            settings["insert_deduplicate"] = "1"
        case .queryLog:
            settings["log_queries"] = "1"
        }
        return settings
    }

    /// `1.2.3.4` as `[1, 2, 3]`.
    static func parseVersion(_ text: String) -> [Int] {
        text.split(separator: ".").prefix(3).map { Int($0.prefix { $0.isNumber }) ?? 0 }
    }

    /// `name = N` from the SETTINGS clause of a CREATE TABLE statement.
    static func tableSetting(_ name: String, in create: String) -> Int? {
        guard let range = create.range(of: name) else { return nil }
        let rest = create[range.upperBound...].drop { $0 == " " || $0 == "=" }
        return Int(rest.prefix { $0.isNumber })
    }
}
