import Foundation
import PluginKit

/// Exactly-once: each epoch's rows are staged as Native blocks in the operator's durable
/// staging (beside the checkpoints, local or on object storage), sealed on the barrier, and inserted when the checkpoint completes, each block
/// with a deterministic `query_id` (and `insert_deduplication_token` where the server and table
/// support it; see ``CommitPath``). After a restore the sealed epochs the checkpoint lists are
/// committed again, idempotently: by the dedup token, or by looking the query_id up in
/// `system.processes` and `system.query_log`.
///
/// The protocol is PluginKit's ``TwoPhaseCommit``, committing on a thread of its own so the
/// next epoch is staged while the last one is sent; ``StagedEpochInserter`` is this sink's
/// half of it.
final class ExactlyOnceDelivery: Delivery {
    private let config: ClickHouseSink.Config
    private let host: PluginHost
    private let epochs: StagedEpochInserter
    private let commit: TwoPhaseCommit<StagedEpochInserter>
    private(set) var commitPath: CommitPath = .queryLog

    /// Completed epochs waiting for the committer beyond which writing blocks (backpressure).
    static let maxQueuedEpochs = 2

    init(config: ClickHouseSink.Config, host: PluginHost) throws {
        self.config = config
        self.host = host
        epochs = StagedEpochInserter(staging: NativeStaging(staging: try host.staging()), config: config, host: host)
        commit = TwoPhaseCommit(store: epochs, committing: .background(maxQueuedEpochs: ExactlyOnceDelivery.maxQueuedEpochs,
                                                                          threadName: "clickhouse-sink committer"))
    }

    deinit { commit.stop() }

    var maxBlockRows: Int { config.maxBlockRows }
    var maxBlockBytes: Int { config.maxBlockBytes }
    var maxBlockAge: TimeInterval? { nil }
    var staging: NativeStaging { epochs.staging }

    func restore(checkpointID: UInt64, state: [UInt8]) throws {
        try adoptEarlierEpochs()
        let decoded = state.isEmpty ? SinkState(runID: epochs.runID, pending: []) : try SinkState.decode(state)
        epochs.runID = decoded.runID
        try commit.restore(listing: decoded.pending)
    }

    func open(_ table: OpenTable, assembler: BlockAssembler) throws {
        let (path, why) = try chooseCommitPath(table)
        commitPath = path
        epochs.inserter = BlockInserter(client: table.client, config: config, host: host, serverVersion: table.serverVersion, commitPath: path)
        host.log(.info, "exactly-once into \(table.qualifiedTable) on ClickHouse \(table.serverVersion) at \(table.client.displayURL): \(why)")
        try adoptEarlierEpochs()
        try commit.prepare()
        let recommitted = try commit.commitRestored()
        if !recommitted.isEmpty {
            host.log(.info, "re-committed \(recommitted.count) sealed epoch(s) from the restored checkpoint (\(recommitted.map(String.init).joined(separator: ", ")))")
        }
    }

    func finish(_ builder: NativeBlockBuilder) throws {
        _ = try builder.finishBlock(stagingInto: epochs.staging)
    }

    func beforeWrite() throws {
        try commit.waitForCapacity()
    }

    func snapshot(checkpointID: UInt64) throws -> [UInt8] {
        let pending = try commit.seal(checkpointID: checkpointID)
        return SinkState(runID: epochs.runID, pending: pending).encoded()
    }

    /// Hands the sealed epochs up to `checkpointID` to the committer thread and returns: they
    /// stay listed in the state until inserted, so a crash before that re-commits them.
    func checkpointComplete(checkpointID: UInt64) throws {
        try commit.checkpointComplete(checkpointID: checkpointID)
    }

    /// Epochs whose checkpoint completed are inserted before the sink goes (a final checkpoint,
    /// a swap); a failure is reported, and a restore commits them again.
    func close() throws {
        defer { commit.stop() }
        try commit.finishCommits()
    }

    /// Blocks until every completed epoch is in ClickHouse, or throws the committer's failure.
    func finishCommits() throws { try commit.finishCommits() }

    func queryID(epoch: UInt64, block: Int) -> String { epochs.queryID(epoch: epoch, block: block) }

    /// Moves what an earlier version staged in the state directory into the staging, once.
    private func adoptEarlierEpochs() throws {
        guard !adoptedEarlierEpochs else { return }
        adoptedEarlierEpochs = true
        let adopted = try epochs.staging.adoptEpochs(leftIn: host.stateDirectory)
        if !adopted.isEmpty {
            host.log(.info, "moved sealed epoch(s) \(adopted.map(String.init).joined(separator: ", ")) staged by an earlier version from \(host.stateDirectory) into \(epochs.staging.staging.location)")
        }
    }
    private var adoptedEarlierEpochs = false

    // MARK: - Choosing the commit path

    private func chooseCommitPath(_ table: OpenTable) throws -> (CommitPath, String) {
        let client = table.client
        let version = CommitPath.parseVersion(table.serverVersion)
        do {
            var facts: CommitPath.TableFacts?
            if CommitPath.needsTableFacts(version: version) {
                let engineRows = try client.retrying(config.retryPolicy, deadline: table.deadline, waiting: table.waiting) { _ in
                    try client.rows("SELECT engine, create_table_query FROM system.tables WHERE database = \(ClickHouseClient.quoteString(config.database)) AND name = \(ClickHouseClient.quoteString(config.table))")
                }
                let serverWindow = try client.rows("SELECT value FROM system.merge_tree_settings WHERE name = 'non_replicated_deduplication_window'").first?.first
                facts = .init(engine: engineRows.first?.first ?? "",
                              createQuery: engineRows.first.map { $0.count > 1 ? $0[1] : "" } ?? "",
                              serverWindow: serverWindow.flatMap { Int($0) })
            }
            let choice = CommitPath.choose(version: version, versionText: table.serverVersion, table: table.qualifiedTable, facts: facts)
            if choice.0 == .queryLog { try requireQueryLog(client, serverVersion: table.serverVersion) }
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
    private func requireQueryLog(_ client: ClickHouseClient, serverVersion: String) throws {
        func exists() throws -> Bool {
            try client.rows("SELECT count() FROM system.tables WHERE database = 'system' AND name = 'query_log'").first?.first == "1"
        }
        if try exists() { return }
        let deadline = Date().addingTimeInterval(ExactlyOnceDelivery.queryLogProbeSeconds)
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
}

/// The ClickHouse sink's half of the two-phase commit: epochs are ``NativeStaging`` block lists,
/// and an epoch is committed by inserting its blocks, up to `commit_parallelism` at once (each
/// its own INSERT with its own query_id, idempotent on its own, its object removed once
/// ClickHouse acknowledged it), then removing the folder.
final class StagedEpochInserter: EpochStore, @unchecked Sendable {
    // @unchecked Sendable: `runID` and `inserter` are set in restore/open, before the committer
    // thread exists; the staging's sealed epochs are read by one committer at a time.
    let staging: NativeStaging
    private let config: ClickHouseSink.Config
    private let host: PluginHost
    /// Part of every query_id; new for each fresh start, carried in the state across restores.
    var runID = ClickHouseSink.makeRunID()
    var inserter: BlockInserter?

    init(staging: NativeStaging, config: ClickHouseSink.Config, host: PluginHost) {
        self.staging = staging
        self.config = config
        self.host = host
    }

    func queryID(epoch: UInt64, block: Int) -> String {
        "sluice-\(host.pipelineName)-\(host.operatorName)-\(runID)-\(epoch)-\(block)"
    }

    func seal(_ epoch: UInt64) throws -> Bool { try staging.seal(epoch) }
    func isStaged(_ epoch: UInt64) throws -> Bool { try staging.isSealed(epoch) }
    func stagedEpochs() throws -> [UInt64] { try staging.sealedEpochs() }
    func discardCurrent() throws { try staging.discardCurrent() }
    func discard(_ epoch: UInt64) throws { try staging.remove(epoch) }

    func commit(_ epoch: UInt64, afterRestore: Bool) throws {
        guard let inserter else { throw PluginError("the ClickHouse sink is not open") }
        let (blockCount, blocks) = try staging.blocks(of: epoch)
        let progress = NSLock()
        var next = 0, skipped = 0
        var failure: Error?
        let workers = min(config.commitParallelism, blocks.count)
        let work = { [self] in
            while true {
                let taken: (index: Int, name: String)? = progress.withLock {
                    guard failure == nil, next < blocks.count else { return nil }
                    next += 1
                    return blocks[next - 1]
                }
                guard let (index, name) = taken else { return }
                do {
                    let block = try staging.stagedBlock(name)
                    let inserted = try inserter.insert(.staged(block, staging.staging), queryID: queryID(epoch: epoch, block: index),
                                                       what: "commit of epoch \(epoch) (block \(index) of \(blockCount), \(block.rows) rows)",
                                                       verifyFirst: afterRestore)
                    try staging.removeBlock(name)
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
            let helpers = (1..<workers).map { _ in
                let done = DispatchSemaphore(value: 0)
                let thread = Thread { work(); done.signal() }
                thread.name = "clickhouse-sink committer"
                thread.start()
                return done
            }
            work()
            for done in helpers { done.wait() }
        }
        if let failure { throw failure }
        // Every block was removed as it was acknowledged: only the list is left.
        try staging.removeList(of: epoch)
        if skipped > 0 {
            host.log(.info, "epoch \(epoch): \(skipped) of \(blocks.count) block(s) were already in ClickHouse (found by query_id); not inserted again")
        }
    }
}

/// The sink's checkpoint state: its run id (part of every query_id) and the sealed epochs
/// not yet committed.
struct SinkState: Codable, Equatable {
    var version = 1
    var runID: String
    var pending: [UInt64]

    func encoded() -> [UInt8] { Array((try? JSONEncoder().encode(self)) ?? Data()) }

    static func decode(_ bytes: [UInt8]) throws -> SinkState {
        do { return try JSONDecoder().decode(SinkState.self, from: Data(bytes)) } catch {
            throw PluginError("the clickhouse-sink state in this checkpoint cannot be read (\(bytes.count) bytes): \(error)")
        }
    }
}



