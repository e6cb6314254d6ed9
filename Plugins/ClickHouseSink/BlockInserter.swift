import Foundation
import PluginKit

/// Sends one Native block as its own INSERT, retrying with backoff while ClickHouse is
/// unreachable or failing. Shared by both deliveries; on the exactly-once query-log path a block
/// whose earlier attempt may have landed is looked up before it is sent again.
///
/// Any thread: the exactly-once committer inserts up to `commit_parallelism` blocks at once.
final class BlockInserter {
    enum Payload {
        /// In memory (at-least-once).
        case memory(EncodedBlock)
        /// A staged block, streamed from staging (exactly-once).
        case staged(NativeStaging.StagedBlock, Staging)
    }

    let client: ClickHouseClient
    let config: ClickHouseSink.Config
    let host: PluginHost
    let serverVersion: String
    /// nil in at-least-once mode.
    let commitPath: CommitPath?

    init(client: ClickHouseClient, config: ClickHouseSink.Config, host: PluginHost, serverVersion: String, commitPath: CommitPath?) {
        self.client = client
        self.config = config
        self.host = host
        self.serverVersion = serverVersion
        self.commitPath = commitPath
    }

    var qualifiedTable: String { "\(config.database).\(config.table)" }

    /// Inserts one block. Returns false when the block turned out to be there already. On the
    /// query-log path a block whose earlier attempt may have landed (`verifyFirst`, or any
    /// failed attempt) is looked up before it is sent again.
    @discardableResult
    func insert(_ payload: Payload, queryID: String, what: String, verifyFirst: Bool) throws -> Bool {
        let settings = CommitPath.insertSettings(queryID: queryID, version: CommitPath.parseVersion(serverVersion),
                                                 exactlyOnce: commitPath != nil, path: commitPath ?? .queryLog)
        let verifiesByQueryLog = commitPath == .queryLog
        var mustVerify = verifyFirst && verifiesByQueryLog
        let sql: String
        switch payload {
        case .memory(let block): sql = block.insertStatement(database: config.database, table: config.table)
        case .staged(let block, _): sql = block.insertStatement(database: config.database, table: config.table)
        }
        var lastLogged = Date.distantPast
        do {
            return try client.retrying(config.retryPolicy, waiting: { [host] error, attempt, delay in
                // One line per attempt while backing off; at most one per second.
                if Date().timeIntervalSince(lastLogged) >= 1 || attempt == 1 {
                    host.log(.warn, "\(error); retrying \(what) in \(ClickHouseSink.format(delay)) (attempt \(attempt))")
                    lastLogged = Date()
                }
            }) { _ in
                if mustVerify, try alreadyCommitted(queryID) { return false }
                do {
                    switch payload {
                    case .memory(let block): try client.insert(sql, block: block.bytes, settings: settings)
                    case .staged(let block, let staging):
                        try client.insert(sql, length: block.bodyLength, settings: settings) { offset, buffer in
                            try staging.read(block.name, offset: block.bodyOffset + offset, into: buffer)
                        }
                    }
                    return true
                } catch {
                    if verifiesByQueryLog { mustVerify = true }
                    throw error
                }
            }
        } catch let error as ClickHouseError {
            throw PluginError("\(what) into \(qualifiedTable) failed: \(error)")
        }
    }

    /// Whether the INSERT with this query_id finished: waits while it still runs, flushes the
    /// server's logs, and looks for its QueryFinish in system.query_log.
    private func alreadyCommitted(_ queryID: String) throws -> Bool {
        let quoted = ClickHouseClient.quoteString(queryID)
        var waited = 0.0
        while try client.rows("SELECT count() FROM system.processes WHERE query_id = \(quoted)").first?.first != "0" {
            if waited == 0 { host.log(.info, "waiting for query \(queryID) still running on ClickHouse to finish") }
            Thread.sleep(forTimeInterval: 0.1)
            waited += 0.1
        }
        try client.query("SYSTEM FLUSH LOGS")
        // written_rows > 0: an INSERT whose client died before sending any of the body still
        // finishes (an empty Native stream), having written nothing. type 2 is QueryFinish
        // (UInt8 on 18.x, an Enum later).
        let finished = try client.rows("SELECT count() FROM system.query_log WHERE query_id = \(quoted) AND toUInt8(type) = 2 AND written_rows > 0").first?.first ?? "0"
        return finished != "0"
    }
}
