import Foundation
import PluginKit

/// At-least-once: rows are buffered in memory and inserted when the block reaches `flush_rows`
/// or `flush_bytes`, is `flush_interval` old, or a barrier arrives. A flusher thread finishes
/// blocks that grew old while no batch came; its failure is thrown by the next call.
final class AtLeastOnceDelivery: Delivery, @unchecked Sendable {
    // @unchecked Sendable: the flusher thread touches `stopped` and `flushError` under `lock`
    // only, and inserts under the assembler's lock.
    private let config: ClickHouseSink.Config
    private let host: PluginHost
    private let runID = ClickHouseSink.makeRunID()
    private var inserter: BlockInserter?
    private let lock = NSLock()
    private var stopped = false
    private var flushError: Error?
    private var insertCounter = 0

    init(config: ClickHouseSink.Config, host: PluginHost) {
        self.config = config
        self.host = host
    }

    var maxBlockRows: Int { config.flushRows }
    var maxBlockBytes: Int { config.flushBytes }
    var maxBlockAge: TimeInterval? { config.flushInterval.seconds }

    func restore(checkpointID: UInt64, state: [UInt8]) throws {}

    func open(_ table: OpenTable, assembler: BlockAssembler) throws {
        inserter = BlockInserter(client: table.client, config: config, host: host, serverVersion: table.serverVersion, commitPath: nil)
        host.log(.info, "at-least-once into \(table.qualifiedTable) on ClickHouse \(table.serverVersion) at \(table.client.displayURL): inserting every \(config.flushRows) rows, \(config.flushBytes) bytes or \(ClickHouseSink.format(config.flushInterval.seconds)), and on each barrier")
        startFlusher(assembler)
    }

    /// Called with the assembler's lock held (so `insertCounter` needs no lock of its own).
    func finish(_ builder: NativeBlockBuilder) throws {
        guard let block = builder.finishBlock(), let inserter else { return }
        insertCounter += 1
        let queryID = "sluice-\(host.pipelineName)-\(host.operatorName)-\(runID)-alo-\(insertCounter)"
        try inserter.insert(.memory(block), queryID: queryID, what: "insert of \(block.rows) rows", verifyFirst: false)
    }

    func beforeWrite() throws {
        try lock.withLock {
            if let error = flushError { flushError = nil; throw error }
        }
    }

    func snapshot(checkpointID: UInt64) throws -> [UInt8] {
        try beforeWrite()
        return []
    }

    func checkpointComplete(checkpointID: UInt64) throws {}

    func close() throws {
        lock.withLock { stopped = true }
    }

    deinit { lock.withLock { stopped = true } }

    private func startFlusher(_ assembler: BlockAssembler) {
        let interval = config.flushInterval.seconds
        let thread = Thread { [weak self, weak assembler] in
            while true {
                Thread.sleep(forTimeInterval: max(0.01, min(interval / 4, 0.25)))
                guard let self, let assembler else { return }
                let (stopped, failed) = self.lock.withLock { (self.stopped, self.flushError != nil) }
                if stopped { return }
                if failed { continue }
                do { try assembler.finishBlock(olderThan: interval) } catch {
                    self.lock.withLock { self.flushError = error }
                }
            }
        }
        thread.name = "clickhouse-sink flush timer"
        thread.start()
    }
}
