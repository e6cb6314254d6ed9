import CProcessControl
import Foundation
import SluiceArrow
import SluiceCore

/// How to build an operator's plugin instance on its own thread.
struct OperatorSetup {
    let index: Int
    let spec: OperatorSpec
    let plugin: LoadedPlugin
    let stateDirectory: String
    /// Opens the operator's durable staging (ABI 1.2), on the thread that creates the instance.
    var openStaging: (@Sendable () throws -> any StagingArea)?
    /// The states to restore, in order: none on a fresh start, this operator's own on a
    /// resume, and on a rescale every old lane's state that the operator may take a share of.
    let restore: [RestorePlan.State]
    /// The pipeline-wide lane the operator runs in.
    var lane: LaneAssignment = .single
    /// For log lines and messages: the name, with the lane when the pipeline has several (as
    /// checkpoints name it).
    var displayName: String { PipelineTopology.checkpointName(spec.name, globalLane: lane.index, laneCount: lane.count) }
}

/// Counters of one operator, updated on its thread and read from any thread.
struct OperatorCounters {
    var rowsIn = 0
    var rowsOut = 0
    var batchesIn = 0
    var deadLetters = 0
}

/// Where an operator's output goes.
enum OperatorOutput {
    /// The next operator's inbox: another thread takes it from there.
    case queue(OperatorInbox)
    /// The next operator itself, called on this thread: no queue, and the batch is read on the
    /// core that wrote it (see `OperatorThread.chain`).
    case chained(OperatorThread)
}

/// A failure of operator `index`, chained to the thread that caught it.
private struct ChainedOperatorFailure: Error {
    let index: Int
    let error: any Error

    /// Runs `body` for chained operator `index`: what it throws names that operator, unless
    /// an operator further down the chain is named already.
    static func attributing(to index: Int, _ body: () throws -> Void) throws {
        do { try body() } catch let failure as ChainedOperatorFailure { throw failure } catch {
            throw ChainedOperatorFailure(index: index, error: error)
        }
    }
}

/// One operator: creates, restores and opens its plugin, then moves items from its inbox
/// through the plugin to its output, snapshotting on barriers and committing on
/// notify-complete. Every call into the plugin happens on one thread: the operator's own, or,
/// for an operator chained to the one before it (Flink's operator chaining), the thread of the
/// chain's head, which calls it with each batch and routes its control messages to it. The
/// main sink can also be swapped for another plugin at a checkpoint boundary (see
/// `ControlMessage.prepareSwap`).
final class OperatorThread {
    enum Role { case source, transform, sink, deadLetterSink }

    /// Replaced on the sink thread by a swap while other threads read it: under `statsLock`.
    private var currentSetup: OperatorSetup
    var setup: OperatorSetup {
        get { statsLock.withLock { currentSetup } }
        set { statsLock.withLock { currentSetup = newValue } }
    }
    let role: Role
    /// Data from upstream, unless the operator is chained; control messages, unless it is
    /// chained (they go through its head's inbox, see `send`).
    let inbox: OperatorInbox
    /// Where output goes; nil for sinks. Set by `connect` or `chain` before `start`.
    private var downstream: OperatorOutput?
    /// The operator whose thread runs this one, if it is chained.
    private weak var chainHead: OperatorThread?
    /// The operators chained behind this one, in data-flow order: they run on its thread.
    private var chained: [OperatorThread] = []
    /// The dead-letter sink's inbox, for the main sink to forward dead letters and barriers to.
    let deadLetters: OperatorInbox?
    private let mailbox: CoordinatorMailbox
    private let hasDeadLetterOutput: Bool
    private let deliveryMode: DeliveryMode
    private let pipelineName: String
    private var instance: PluginInstance?
    private var thread: Thread?
    /// Rows through this operator since its last barrier (source: emitted; others: received).
    private var rowsSinceBarrier = 0
    private var totals = OperatorCounters()
    private let statsLock = NSLock()
    /// Snapshots that failed since the last one that worked.
    private var declinesInARow = 0
    static let maximumDeclinesInARow = 3
    /// A swap was asked for: pause at the next barrier.
    private var swapRequested = false
    /// Paused at a barrier, waiting for the commit and the swap.
    private var paused = false
    /// Sources: where emitted batches' times go, for `sluice_commit_latency_seconds`. Set
    /// before `start`.
    var commitLatency: CommitLatency?
    /// Sources: the last checkpoint barrier injected (0 before the first).
    private var lastBarrier: UInt64 = 0

    /// The counters so far; any thread.
    var counters: OperatorCounters {
        statsLock.lock()
        defer { statsLock.unlock() }
        var c = totals
        if role == .source { c.rowsOut += rowsSinceBarrier } else { c.rowsIn += rowsSinceBarrier }
        return c
    }

    init(setup: OperatorSetup, role: Role, inbox: OperatorInbox, deadLetters: OperatorInbox?,
         mailbox: CoordinatorMailbox, hasDeadLetterOutput: Bool, deliveryMode: DeliveryMode, pipelineName: String) {
        self.currentSetup = setup
        self.role = role
        self.inbox = inbox
        self.deadLetters = deadLetters
        self.mailbox = mailbox
        self.hasDeadLetterOutput = hasDeadLetterOutput
        self.deliveryMode = deliveryMode
        self.pipelineName = pipelineName
    }

    /// Sends output to `next`'s inbox, for its own thread to take.
    func connect(to next: OperatorThread) {
        downstream = .queue(next.inbox)
    }

    /// Runs `next` on this operator's thread (its chain head's, if this one is chained), called
    /// with each item this one emits: a thread and a queue less (`chain_transforms`).
    func chain(_ next: OperatorThread) {
        let head = chainHead ?? self
        downstream = .chained(next)
        next.chainHead = head
        head.chained.append(next)
    }

    /// Delivers a control message to the thread that runs this operator.
    func send(_ control: ControlMessage) {
        if let chainHead {
            chainHead.inbox.send(.chained(index: setup.index, control))
        } else {
            inbox.send(control)
        }
    }

    /// Starts the operator's thread; a chained operator has none (its head's runs it).
    func start() {
        guard chainHead == nil else { return }
        let name = "op-\(setup.displayName)"
        let thread = Thread { [self] in
            // What `top -H`, `perf` and /proc show: Foundation's `Thread.name` does not reach
            // the kernel on Linux.
            _ = sluice_set_thread_name(name)
            run()
        }
        thread.name = name
        thread.stackSize = 8 << 20
        self.thread = thread
        thread.start()
    }

    // MARK: - Thread body

    /// The thread body: prepares this operator and those chained to it, in data-flow order,
    /// runs until shut down, then closes them in the same order.
    private func run() {
        let operators = [self] + chained
        // Which operator a failure belongs to, for the failures not thrown through `accept`.
        var current = self
        do {
            for op in operators {
                current = op
                try op.prepare(restoring: op.setup.restore)
                mailbox.post(.ready(index: op.setup.index))
            }
            current = self
            if role == .source { try runSource() } else { try runConsumer() }
            for op in operators {
                current = op
                try op.instance?.close()
                op.instance?.destroy()
                op.instance = nil
                mailbox.post(.stopped(index: op.setup.index))
            }
        } catch let failure as ChainedOperatorFailure {
            mailbox.post(.failed(index: failure.index, error: failure.error))
        } catch {
            mailbox.post(.failed(index: current.setup.index, error: error))
        }
    }

    private func prepare(restoring restore: [RestorePlan.State]) throws {
        instance = try Self.openInstance(setup, hasDeadLetterOutput: hasDeadLetterOutput, deliveryMode: deliveryMode,
                                         pipelineName: pipelineName, restoring: restore)
        statsLock.withLock { context = instance?.context }
    }

    /// The host side of the current plugin instance, for its status; under `statsLock`.
    private var context: HostContext?

    /// What the plugin last said about itself (`set_status`), if anything; any thread.
    var pluginStatus: String? { statsLock.withLock { context }?.status }
    /// What a source last reported of its lag, per input partition (`report_lag`); any thread.
    var pluginLag: [String: Int64] { statsLock.withLock { context }?.lag ?? [:] }

    /// Creates, restores and opens the plugin instance of `setup`. On the operator's thread, or
    /// on a preparation thread for a sink about to be swapped in (the instance moves to the
    /// sink thread afterwards; its calls never overlap).
    static func openInstance(_ setup: OperatorSetup, hasDeadLetterOutput: Bool, deliveryMode: DeliveryMode, pipelineName: String,
                             restoring restore: [RestorePlan.State]) throws -> PluginInstance {
        let context = HostContext(operatorName: setup.spec.name, logName: setup.displayName, pluginName: setup.plugin.name,
                                  hasDeadLetterOutput: hasDeadLetterOutput, staging: try setup.openStaging?())
        let instance = try PluginInstance(plugin: setup.plugin, configJSON: setup.spec.configJSON, context: context,
                                          stateDirectory: setup.stateDirectory, deliveryMode: deliveryMode, pipelineName: pipelineName,
                                          lane: setup.lane)
        do {
            for state in restore { try instance.restore(state.checkpoint, state: state.state) }
            try instance.open()
        } catch {
            instance.destroy()
            throw error
        }
        return instance
    }

    // MARK: - Source

    private func runSource() throws {
        let instance = instance!, downstream = downstream!
        var reading = true
        // The first rows after a start (a restart's recovery time ends here), logged once.
        var readAny = false
        while true {
            let control = reading ? inbox.pollControl() : inbox.waitControl()
            if let control {
                switch control {
                case .injectBarrier(let id):
                    try barrier(id)
                    lastBarrier = id
                case .stopReading:
                    reading = false
                case .shutdown:
                    return
                default:
                    try handle(control)
                }
                continue
            }
            switch try instance.next() {
            case .batch(let batch):
                if !readAny && batch.length > 0 {
                    readAny = true
                    Log.info("\(setup.displayName): first \(batch.length) rows read")
                }
                count(in: 0, out: batch.length)
                if let commitLatency, let view = try? batch.view() { commitLatency.record(view, afterBarrier: lastBarrier) }
                try emit(.batch(batch), to: downstream)
            case .noData:
                continue
            case .endOfStream:
                reading = false
                mailbox.post(.sourceEnded)
            }
        }
    }

    // MARK: - Transforms and sinks

    private func runConsumer() throws {
        while true {
            // While paused for a swap only control messages are taken; data waits in the queue.
            let next: OperatorInbox.Next = paused ? .control(inbox.waitControl()) : inbox.next()
            switch next {
            case .control(.shutdown):
                return
            case .control(let control):
                try handle(control)
            case .item(let item):
                try consume(item)
            }
        }
    }

    /// One item from upstream, on the thread that runs this operator.
    private func consume(_ item: StreamItem) throws {
        switch item {
        case .batch(let batch):
            switch role {
            case .transform:
                let length = batch.length
                let (output, rejected) = try instance!.process(batch)
                count(in: length, out: output.length, deadLetters: rejected?.length ?? 0)
                if let rejected { try emit(.deadLetters(rejected), to: downstream!) }
                try emit(.batch(output), to: downstream!)
            default:
                count(in: batch.length, out: 0)
                try instance!.write(batch)
            }
        case .deadLetters(let batch) where role == .deadLetterSink:
            count(in: batch.length, out: 0)
            try instance!.write(batch)
        case .deadLetters(let batch):
            // Transforms pass dead letters on; the main sink hands them to the dead-letter sink.
            try forward(.deadLetters(batch))
        case .barrier(let id):
            try barrier(id)
            if swapRequested {
                paused = true
                mailbox.post(.sinkPaused(checkpoint: id, at: monotonicNanoseconds()))
            }
        }
    }

    private func emit(_ item: StreamItem, to output: OperatorOutput) throws {
        switch output {
        case .queue(let inbox): inbox.push(item)
        case .chained(let next): try next.accept(item)
        }
    }

    /// Barriers and dead letters go down the chain; from the main sink, to the dead-letter sink.
    private func forward(_ item: StreamItem) throws {
        if let downstream {
            try emit(item, to: downstream)
        } else {
            deadLetters?.push(item)
        }
    }

    /// An item from the operator this one is chained to, on that operator's thread. Failures
    /// carry this operator's index, so the worker names the operator that failed.
    private func accept(_ item: StreamItem) throws {
        try ChainedOperatorFailure.attributing(to: setup.index) { try consume(item) }
    }

    // MARK: - Checkpoints

    /// Snapshots, acknowledges to the coordinator, then forwards the barrier. A failed
    /// snapshot declines the checkpoint (it aborts; the rows since the last barrier stay
    /// counted for the next one, which covers them) and the barrier still goes on, so the
    /// operators downstream stay aligned. `maximumDeclinesInARow` failures in a row fail the
    /// operator: a plugin that can never snapshot would otherwise run without checkpoints.
    private func barrier(_ id: UInt64) throws {
        let state: [UInt8]
        do {
            state = try instance!.snapshot(id)
            declinesInARow = 0
        } catch {
            declinesInARow += 1
            if declinesInARow >= Self.maximumDeclinesInARow {
                throw OperatorError(operatorName: setup.spec.name, plugin: setup.plugin.name,
                                    message: "snapshot failed for \(declinesInARow) checkpoints in a row, the last time: \(error)")
            }
            Log.warn("\(setup.displayName): snapshot for checkpoint \(id) failed (\(error)); declining it, a later checkpoint covers these rows")
            mailbox.post(.declined(checkpoint: id, index: setup.index, reason: "\(error)"))
            try forward(.barrier(id))
            return
        }
        statsLock.lock()
        let rows = rowsSinceBarrier
        if role == .source { totals.rowsOut += rows } else { totals.rowsIn += rows }
        rowsSinceBarrier = 0
        statsLock.unlock()
        mailbox.post(.acknowledged(checkpoint: id, index: setup.index, state: state, rows: rows))
        try forward(.barrier(id))
    }

    private func handle(_ control: ControlMessage) throws {
        switch control {
        case .notifyComplete(let id):
            try instance!.notifyComplete(id)
        case .notifyAborted(let id):
            instance!.notifyAborted(id)
        case .prepareSwap:
            swapRequested = true
        case .cancelSwap:
            swapRequested = false
            paused = false
        case .swap(let newSetup, let newInstance):
            try swap(to: newSetup, instance: newInstance)
        case .chained(let index, let control):
            guard let op = chained.first(where: { $0.setup.index == index }) else { return }
            // A chained operator ends with its head's thread, which closes it.
            if case .shutdown = control { return }
            try ChainedOperatorFailure.attributing(to: index) { try op.handle(control) }
        default:
            break
        }
    }

    @inline(__always)
    private func count(in rowsIn: Int, out rowsOut: Int, deadLetters: Int = 0) {
        statsLock.lock()
        rowsSinceBarrier += role == .source ? rowsOut : rowsIn
        if role != .source { totals.rowsOut += rowsOut }
        totals.batchesIn += 1
        totals.deadLetters += deadLetters
        statsLock.unlock()
    }

    // MARK: - Swapping the sink

    /// Switches to the new instance, created and opened beforehand (make before break): the
    /// old one is closed first, which commits the epoch it sealed at the swap's barrier, so the
    /// only stall beyond that commit is the switch itself. A failed close of the old sink fails
    /// the operator: its last epoch is sealed, and a restore commits it.
    private func swap(to newSetup: OperatorSetup, instance newInstance: PluginInstance) throws {
        let old = setup
        do { try instance?.close() } catch {
            newInstance.destroy()
            throw OperatorError(operatorName: old.spec.name, plugin: old.plugin.name,
                                message: "closing the old sink for the swap failed (\(error)); its last epoch is sealed and is committed on restore")
        }
        mailbox.post(.sinkCommitted(at: monotonicNanoseconds()))
        instance?.destroy()
        setup = newSetup
        instance = newInstance
        statsLock.withLock { context = newInstance.context }
        swapRequested = false
        paused = false
        mailbox.post(.sinkSwapped(at: monotonicNanoseconds()))
    }
}
