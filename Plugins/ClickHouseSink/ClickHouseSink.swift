import Foundation
import PluginKit

/// Writes batches into a ClickHouse table over the HTTP interface, as Native blocks encoded
/// straight from the Arrow columns.
///
/// Exactly-once mode (the default in an exactly-once pipeline): each epoch's rows are staged as
/// Native blocks in the operator's state directory, sealed on the barrier, and inserted on
/// notify-complete, each block with a deterministic `query_id` (and
/// `insert_deduplication_token` where the server and table support it). After a restore the
/// sealed epochs the checkpoint lists are committed again, idempotently: by the dedup token,
/// or by looking the query_id up in `system.processes` and `system.query_log`.
///
/// At-least-once mode: rows are buffered in memory and inserted when the buffer reaches
/// `flush_rows` or `flush_bytes`, is `flush_interval` old, or a barrier arrives.
///
/// Threads: every method runs on the sink's operator thread. In exactly-once mode a committer
/// thread inserts the sealed epochs that notify-complete hands it (under `commitLock`), so the
/// next epoch is encoded and staged while the last one is sent; in at-least-once mode a timer
/// thread flushes old buffers, under `lock`.
public final class ClickHouseSink: SinkPlugin {
    public static let name = "clickhouse-sink"
    public static let version = "1.0.0"
    public static let description = "Inserts rows into a ClickHouse table (Native format over HTTP), exactly once through checkpoints"

    let config: Config
    let host: PluginHost
    let exactlyOnce: Bool
    private var client: ClickHouseClient?
    private(set) var serverVersion = ""
    private(set) var table: [TableColumn] = []
    private(set) var commitPath: CommitPath = .queryLog
    private var builder: NativeBlockBuilder?
    private let staging: NativeStaging
    /// Part of every query_id; new for each fresh start, carried in the state across restores.
    private(set) var runID: String
    /// Epochs a restore listed: each block is checked before it is inserted again.
    private var uncertainEpochs: Set<UInt64> = []
    private var restored = false

    // Exactly-once committing, under `commitLock`: epochs whose checkpoint completed, ascending;
    // the first is being inserted. They stay in `staging.pending`, and so in every state
    // `snapshot` returns, until they are in ClickHouse: a crash re-commits them on restore.
    private let commitLock = NSCondition()
    private var commitQueue: [UInt64] = []
    private var handedOff: UInt64 = 0
    private var commitError: Error?
    private var committerStop = false
    private var committer: Thread?
    /// Epochs waiting for the committer beyond which `write` blocks (backpressure).
    static let maxQueuedEpochs = 2

    // At-least-once buffering.
    private let lock = NSLock()
    private var bufferStarted: Date?
    private var insertCounter = 0
    private var timer: Thread?
    private var timerStop = false
    private var timerError: Error?

    var qualifiedTable: String { "\(config.databaseName).\(config.table)" }

    public init(config: Config, host: PluginHost) throws {
        self.config = config
        self.host = host
        switch config.mode {
        case "exactly-once": exactlyOnce = true
        case "at-least-once": exactlyOnce = false
        default: exactlyOnce = host.exactlyOnce
        }
        staging = NativeStaging(directory: host.stateDirectory)
        runID = ClickHouseSink.makeRunID()
    }

    static func makeRunID() -> String {
        String(UInt64.random(in: 0...UInt64.max), radix: 36)
    }

    // MARK: - Lifecycle

    public func restore(checkpointID: UInt64, state: [UInt8]) throws {
        let decoded = state.isEmpty ? SinkState(runID: runID, pending: []) : try SinkState.decode(state)
        runID = decoded.runID
        try staging.discardUncovered(keeping: decoded.pending)
        staging.pending = decoded.pending.filter { epoch in
            // An epoch listed but already removed was committed before the crash.
            FileManager.default.fileExists(atPath: staging.sealedDirectory(epoch))
        }
        uncertainEpochs = Set(staging.pending)
        restored = true
    }

    public func open() throws {
        let password = try ClickHouseSink.resolvePassword(config)
        let client = ClickHouseClient(options: .init(
            url: config.url, user: config.userName, password: password, database: config.databaseName,
            settings: (config.settings ?? [:]).mapValues(\.text), gzip: config.compression == "gzip",
            connectTimeout: config.connect_timeout?.seconds ?? 5, requestTimeout: config.request_timeout?.seconds ?? 300))
        self.client = client
        // A connection check tries once: the deadline is now, so nothing is retried.
        let deadline = Date().addingTimeInterval(host.isConnectionCheck ? 0 : config.open_timeout?.seconds ?? 30)
        let waiting: (ClickHouseError, Int, TimeInterval) -> Void = { [host] error, attempt, delay in
            host.log(.warn, "\(error); retrying open in \(ClickHouseSink.format(delay)) (attempt \(attempt))")
        }
        do {
            serverVersion = try client.retrying(config.retryPolicy, deadline: deadline, waiting: waiting) { _ in
                try client.query("SELECT version()").trimmingCharacters(in: .whitespacesAndNewlines)
            }
            table = try client.retrying(config.retryPolicy, deadline: deadline, waiting: waiting) { _ in try describeTable(client) }
        } catch let error as ClickHouseError {
            throw PluginError(openMessage(error))
        }
        try checkMapping()
        builder = NativeBlockBuilder(table: table, tableName: qualifiedTable, mapping: config.mapping)

        if exactlyOnce {
            let (path, why) = try chooseCommitPath(client, deadline: deadline, waiting: waiting)
            commitPath = path
            host.log(.info, "exactly-once into \(qualifiedTable) on ClickHouse \(serverVersion) at \(client.displayURL): \(why)")
            if !restored { try staging.discardUncovered(keeping: []) }
            if !staging.pending.isEmpty {
                let epochs = staging.pending
                for epoch in epochs { try commitEpoch(epoch) }
                host.log(.info, "re-committed \(epochs.count) sealed epoch(s) from the restored checkpoint (\(epochs.map(String.init).joined(separator: ", ")))")
            }
        } else {
            host.log(.info, "at-least-once into \(qualifiedTable) on ClickHouse \(serverVersion) at \(client.displayURL): inserting every \(config.flushRows) rows, \(config.flushBytes) bytes or \(ClickHouseSink.format(config.flushInterval)), and on each barrier")
            startTimer()
        }
    }

    public func close() throws {
        stopTimer()
        builder?.discard()
        defer {
            stopCommitter()
            client?.shutdown()
            client = nil
        }
        // Epochs whose checkpoint completed are inserted before the sink goes (a final
        // checkpoint, a swap); a failure is reported, and a restore commits them again.
        try waitForCommits()
    }

    deinit {
        stopTimer()
        stopCommitter()
        client?.shutdown()
    }

    // MARK: - Opening

    private func describeTable(_ client: ClickHouseClient) throws -> [TableColumn] {
        let rows = try client.rows("DESCRIBE TABLE \(ClickHouseClient.quoteIdentifier(config.databaseName)).\(ClickHouseClient.quoteIdentifier(config.table))")
        return rows.compactMap { fields in
            guard fields.count >= 2 else { return nil }
            return TableColumn(name: fields[0], typeName: fields[1], type: ClickHouseType(parsing: fields[1]),
                               defaultKind: fields.count > 2 ? fields[2] : "")
        }
    }

    private func openMessage(_ error: ClickHouseError) -> String {
        let url = client?.displayURL ?? config.url
        switch error {
        case .server(let status, let code, let message):
            switch code {
            case 60: return "table \(qualifiedTable) does not exist on ClickHouse at \(url) (\(message))"
            case 81: return "database \(config.databaseName) does not exist on ClickHouse at \(url) (\(message))"
            case 192, 193, 194, 516:
                return "ClickHouse at \(url) rejected the credentials of user '\(config.userName)' (\(message)); check user and password\(config.password_env.map { " (from $\($0))" } ?? "")\(config.password_file.map { " (from \($0))" } ?? "")"
            default:
                if status == 401 || status == 403 {
                    return "ClickHouse at \(url) rejected user '\(config.userName)' (HTTP \(status): \(message)); check user and password"
                }
                return "ClickHouse at \(url) failed while opening \(qualifiedTable): HTTP \(status): \(message)"
            }
        case .unreachable(let why):
            if host.isConnectionCheck { return why }
            return "\(why); gave up opening after \(ClickHouseSink.format(config.open_timeout?.seconds ?? 30))"
        case .local(let why): return why
        }
    }

    /// Mapped target columns must exist; with `input_schema` the whole binding is checked.
    private func checkMapping() throws {
        let names = Set(table.map(\.name))
        let missing = (config.columns ?? [:]).sorted { $0.key < $1.key }.filter { !$0.value.isEmpty && !names.contains($0.value) }
        if !missing.isEmpty {
            throw PluginError("column mapping: table \(qualifiedTable) has no column " + missing.map { "'\($0.value)' (for input column '\($0.key)')" }.joined(separator: ", ")
                + "; its columns are: " + table.map { "\($0.name) \($0.typeName)" }.joined(separator: ", "))
        }
        if let schema = config.input_schema {
            let arrow = schema.sorted { $0.key < $1.key }.map { (name: $0.key, format: ArrowSourceColumn.parseFormat($0.value)!) }
            do { _ = try config.mapping.bind(arrow, to: table, tableName: qualifiedTable) } catch let error as ConversionError {
                throw PluginError(error.description, configPath: error.column.map { "/input_schema/" + ClickHouseSink.escapePointer($0) } ?? "/input_schema")
            }
        }
    }

    private func chooseCommitPath(_ client: ClickHouseClient, deadline: Date,
                                  waiting: @escaping (ClickHouseError, Int, TimeInterval) -> Void) throws -> (CommitPath, String) {
        let version = CommitPath.parseVersion(serverVersion)
        do {
            var facts: CommitPath.TableFacts?
            if CommitPath.needsTableFacts(version: version) {
                let engineRows = try client.retrying(config.retryPolicy, deadline: deadline, waiting: waiting) { _ in
                    try client.rows("SELECT engine, create_table_query FROM system.tables WHERE database = \(ClickHouseClient.quoteString(config.databaseName)) AND name = \(ClickHouseClient.quoteString(config.table))")
                }
                let serverWindow = try client.rows("SELECT value FROM system.merge_tree_settings WHERE name = 'non_replicated_deduplication_window'").first?.first
                facts = .init(engine: engineRows.first?.first ?? "",
                              createQuery: engineRows.first.map { $0.count > 1 ? $0[1] : "" } ?? "",
                              serverWindow: serverWindow.flatMap { Int($0) })
            }
            let choice = CommitPath.choose(version: version, versionText: serverVersion, table: qualifiedTable, facts: facts)
            if choice.0 == .queryLog { try requireQueryLog(client) }
            return choice
        } catch let error as ClickHouseError {
            throw PluginError("cannot choose the exactly-once commit path on ClickHouse at \(client.displayURL): \(error)")
        }
    }

    /// Fails unless the server keeps a query log. `system.query_log` is created lazily, by the
    /// first flush that has entries to write, so on a fresh server it may not exist yet although
    /// the log is on: a query is logged and the logs flushed until the table appears, and only a
    /// server where it never does (no <query_log> section) is refused. The query's log entry is
    /// queued just after its answer is sent, so a flush right after it can come too early.
    private func requireQueryLog(_ client: ClickHouseClient) throws {
        func exists() throws -> Bool {
            try client.rows("SELECT count() FROM system.tables WHERE database = 'system' AND name = 'query_log'").first?.first == "1"
        }
        if try exists() { return }
        let deadline = Date().addingTimeInterval(ClickHouseSink.queryLogProbeSeconds)
        repeat {
            try client.query("SELECT 1", settings: ["log_queries": "1"])
            try client.query("SYSTEM FLUSH LOGS")
            if try exists() { return }
            Thread.sleep(forTimeInterval: 0.05)
        } while Date() < deadline
        throw PluginError("exactly-once into ClickHouse \(serverVersion) needs the query log (system.query_log): enable <query_log> in the server configuration, or use mode: at-least-once")
    }

    /// How long a server may take to create system.query_log once a logged query was flushed.
    static let queryLogProbeSeconds = 3.0

    // MARK: - Writing

    public func write(_ batch: ArrowBatch) throws {
        let columns = try ArrowSourceColumn.columns(of: batch)
        let count = batch.length
        guard count > 0, let builder else { return }
        if exactlyOnce { try waitForCommitCapacity() }
        lock.lock()
        defer { lock.unlock() }
        if let error = timerError { timerError = nil; throw error }
        if builder.needsBinding(columns) {
            try finishBlock()
            do { try builder.bind(columns) } catch let error as ConversionError { throw ClickHouseSink.permanent(error) }
        }
        let blockRows = exactlyOnce ? config.maxBlockRows : config.flushRows
        let blockBytes = exactlyOnce ? config.maxBlockBytes : config.flushBytes
        var start = 0
        while start < count {
            let take = min(count - start, max(1, blockRows - builder.rows), 65_536)
            do { try builder.append(columns, rows: start..<start + take) } catch let error as ConversionError {
                builder.discard()
                throw ClickHouseSink.permanent(error)
            }
            if bufferStarted == nil { bufferStarted = Date() }
            start += take
            if builder.rows >= blockRows || builder.byteCount >= blockBytes { try finishBlock() }
        }
        if !exactlyOnce, let started = bufferStarted, Date().timeIntervalSince(started) >= config.flushInterval {
            try finishBlock()
        }
    }

    /// Ends the block being built: staged (exactly-once) or inserted (at-least-once).
    /// Called with `lock` held.
    private func finishBlock() throws {
        if exactlyOnce {
            bufferStarted = nil
            _ = try builder?.finishBlock(stagingInto: staging)
            return
        }
        guard let block = builder?.finishBlock() else { return }
        bufferStarted = nil
        insertCounter += 1
        let queryID = "sluice-\(host.pipelineName)-\(host.operatorName)-\(runID)-alo-\(insertCounter)"
        try insert(.memory(block), queryID: queryID, what: "insert of \(block.rows) rows", verifyFirst: false)
    }

    // MARK: - Checkpoints

    public func snapshot(checkpointID: UInt64) throws -> [UInt8] {
        if exactlyOnce { try throwCommitError() }
        lock.lock()
        defer { lock.unlock() }
        if let error = timerError { timerError = nil; throw error }
        try finishBlock()
        guard exactlyOnce else { return [] }
        try staging.seal(epoch: checkpointID)
        return SinkState(runID: runID, pending: staging.pending).encoded()
    }

    /// Hands the sealed epochs up to `checkpointID` to the committer thread and returns: they
    /// stay listed in the state until inserted, so a crash before that re-commits them.
    public func checkpointComplete(checkpointID: UInt64) throws {
        guard exactlyOnce else { return }
        try throwCommitError()
        let epochs = staging.pending.filter { $0 <= checkpointID && $0 > handedOff }
        guard let last = epochs.last else { return }
        commitLock.lock()
        commitQueue.append(contentsOf: epochs)
        handedOff = last
        if committer == nil { startCommitter() }
        commitLock.broadcast()
        commitLock.unlock()
    }

    // MARK: - The committer thread

    /// Called with `commitLock` held.
    private func startCommitter() {
        committerStop = false
        let thread = Thread { [self] in
            while true {
                commitLock.lock()
                while commitQueue.isEmpty && !committerStop { commitLock.wait() }
                guard let epoch = commitQueue.first, commitError == nil else {
                    committer = nil
                    commitLock.unlock()
                    return
                }
                commitLock.unlock()
                var failure: Error?
                do { try commitEpoch(epoch) } catch { failure = error }
                commitLock.lock()
                if let failure {
                    // Reported by the next call on the sink's thread; the epoch stays pending,
                    // so the restore that follows commits it again.
                    commitError = failure
                    committer = nil
                    commitLock.broadcast()
                    commitLock.unlock()
                    return
                }
                commitQueue.removeFirst()
                commitLock.broadcast()
                commitLock.unlock()
            }
        }
        thread.name = "clickhouse-sink committer"
        committer = thread
        thread.start()
    }

    private func stopCommitter() {
        commitLock.lock()
        committerStop = true
        commitLock.broadcast()
        commitLock.unlock()
    }

    private func throwCommitError() throws {
        commitLock.lock()
        defer { commitLock.unlock() }
        if let commitError { throw commitError }
    }

    /// Backpressure: blocks while `maxQueuedEpochs` completed epochs wait to be inserted.
    private func waitForCommitCapacity() throws {
        commitLock.lock()
        defer { commitLock.unlock() }
        while commitError == nil && commitQueue.count >= ClickHouseSink.maxQueuedEpochs { commitLock.wait() }
        if let commitError { throw commitError }
    }

    /// Blocks until every epoch handed to the committer is in ClickHouse (or throws its error).
    func waitForCommits() throws {
        commitLock.lock()
        defer { commitLock.unlock() }
        while commitError == nil && !commitQueue.isEmpty { commitLock.wait() }
        if let commitError { throw commitError }
    }

    // MARK: - Committing

    func queryID(epoch: UInt64, block: Int) -> String {
        "sluice-\(host.pipelineName)-\(host.operatorName)-\(runID)-\(epoch)-\(block)"
    }

    /// Inserts every block of a sealed epoch, then removes it. Idempotent. Runs in `open` (a
    /// restore) and on the committer thread. Up to `commit_parallelism` blocks are inserted at
    /// once (each is its own INSERT with its own query_id, idempotent on its own, and its file
    /// is removed once ClickHouse acknowledged it); the epoch's folder goes when all are in.
    private func commitEpoch(_ epoch: UInt64) throws {
        let blocks = staging.blocks(of: epoch)
        let uncertain = commitLock.withLock { uncertainEpochs.contains(epoch) }
        let progress = NSLock()
        var next = 0, skipped = 0
        var failure: Error?
        let workers = min(config.commitParallelism, blocks.count)
        let work = { [self] in
            while true {
                let taken: (index: Int, path: String)? = progress.withLock {
                    guard failure == nil, next < blocks.count else { return nil }
                    next += 1
                    return blocks[next - 1]
                }
                guard let (index, path) = taken else { return }
                do {
                    let block = try staging.stagedBlock(path)
                    let id = queryID(epoch: epoch, block: index)
                    let inserted = try insert(.staged(block), queryID: id, what: "commit of epoch \(epoch) (block \(index) of \(blocks.count), \(block.rows) rows)", verifyFirst: uncertain)
                    staging.removeBlock(path)
                    if !inserted { progress.withLock { skipped += 1 } }
                } catch {
                    progress.withLock { if failure == nil { failure = error } }
                    return
                }
            }
        }
        if workers <= 1 {
            work()
        } else {
            let threads = (1..<workers).map { _ in
                let done = DispatchSemaphore(value: 0)
                let thread = Thread { work(); done.signal() }
                thread.name = "clickhouse-sink committer"
                thread.start()
                return done
            }
            work()
            for done in threads { done.wait() }
        }
        if let failure { throw failure }
        try staging.finishEpoch(epoch)
        _ = commitLock.withLock { uncertainEpochs.remove(epoch) }
        if skipped > 0 {
            host.log(.info, "epoch \(epoch): \(skipped) of \(blocks.count) block(s) were already in ClickHouse (found by query_id); not inserted again")
        }
    }

    /// Inserts one block, retrying with backoff while ClickHouse is unreachable or failing.
    /// Returns false when the block turned out to be there already. On the query-log path a
    /// block whose earlier attempt may have landed (`verifyFirst`, or any failed attempt) is
    /// looked up before it is sent again.
    enum Payload {
        /// In memory (at-least-once).
        case memory(EncodedBlock)
        /// A staged file, streamed from disk (exactly-once).
        case staged(NativeStaging.StagedBlock)
    }

    @discardableResult
    private func insert(_ payload: Payload, queryID: String, what: String, verifyFirst: Bool) throws -> Bool {
        guard let client else { throw PluginError("the ClickHouse sink is not open") }
        let settings = CommitPath.insertSettings(queryID: queryID, version: CommitPath.parseVersion(serverVersion),
                                                 exactlyOnce: exactlyOnce, path: commitPath)
        var mustVerify = verifyFirst && exactlyOnce && commitPath == .queryLog
        let sql: String
        switch payload {
        case .memory(let block): sql = block.insertStatement(database: config.databaseName, table: config.table)
        case .staged(let block): sql = block.insertStatement(database: config.databaseName, table: config.table)
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
                if mustVerify, try alreadyCommitted(queryID, client: client) { return false }
                do {
                    switch payload {
                    case .memory(let block): try client.insert(sql, block: block.bytes, settings: settings)
                    case .staged(let block):
                        try client.insert(sql, file: block.path, offset: block.bodyOffset, length: block.bodyLength, settings: settings)
                    }
                    return true
                } catch {
                    if exactlyOnce && commitPath == .queryLog { mustVerify = true }
                    throw error
                }
            }
        } catch let error as ClickHouseError {
            throw PluginError("\(what) into \(qualifiedTable) failed: \(error)")
        }
    }

    /// Whether the INSERT with this query_id finished: waits while it still runs, flushes the
    /// server's logs, and looks for its QueryFinish in system.query_log.
    private func alreadyCommitted(_ queryID: String, client: ClickHouseClient) throws -> Bool {
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

    // MARK: - At-least-once timer

    private func startTimer() {
        let interval = config.flushInterval
        timerStop = false
        let thread = Thread { [weak self] in
            while true {
                Thread.sleep(forTimeInterval: max(0.01, min(interval / 4, 0.25)))
                guard let self else { return }
                self.lock.lock()
                if self.timerStop { self.lock.unlock(); return }
                if self.timerError == nil, let started = self.bufferStarted, Date().timeIntervalSince(started) >= interval {
                    do { try self.finishBlock() } catch { self.timerError = error }
                }
                self.lock.unlock()
            }
        }
        thread.name = "clickhouse-sink flush timer"
        timer = thread
        thread.start()
    }

    private func stopTimer() {
        lock.lock()
        timerStop = true
        lock.unlock()
        timer = nil
    }

    /// An input the table cannot take fails again after any restart (the same rows come
    /// back): the error points at `table`, which tells the host not to restart.
    static func permanent(_ error: ConversionError) -> PluginError {
        PluginError(error.description + "; a restart cannot fix this: change the table, the column mapping or the input", configPath: "/table")
    }

    /// `name` as one JSON Pointer token (RFC 6901).
    static func escapePointer(_ name: String) -> String {
        name.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    static func format(_ seconds: Double) -> String {
        seconds < 1 ? "\(Int((seconds * 1000).rounded())) ms" : String(format: "%.1f s", seconds)
    }
}

@_cdecl("sluice_plugin_entry")
public func sluicePluginEntry(_ host: UInt32, _ descriptor: UnsafeMutablePointer<UnsafePointer<sluice_plugin_descriptor>?>?,
                              _ error: UnsafeMutablePointer<sluice_error>?) -> sluice_status {
    PluginExport.entry(ClickHouseSink.self, hostABIVersion: host, descriptor: descriptor, error: error)
}
