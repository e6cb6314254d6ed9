import Foundation
import SluiceArrow
import SluiceCore

/// How to build an operator's plugin instance on its own thread.
struct OperatorSetup {
    let index: Int
    let spec: OperatorSpec
    let plugin: LoadedPlugin
    let stateDirectory: String
    /// The state to restore from the checkpoint being resumed, if it has one for this operator.
    let restore: (checkpoint: UInt64, state: [UInt8])?
}

/// One operator's thread: creates, restores and opens its plugin, then moves items from its
/// inbox through the plugin to the next inbox, snapshotting on barriers and committing on
/// notify-complete. Every call into the plugin happens on this thread.
final class OperatorThread {
    enum Role { case source, transform, sink, deadLetterSink }

    let setup: OperatorSetup
    let role: Role
    let inbox: OperatorInbox
    /// Where output goes; nil for sinks.
    let downstream: OperatorInbox?
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
    private var rowsTotal = 0
    private var batchesTotal = 0
    private var statsLock = NSLock()

    /// Rows and batches through this operator so far; any thread.
    var emitted: (rows: Int, batches: Int) {
        statsLock.lock()
        defer { statsLock.unlock() }
        return (rowsTotal + rowsSinceBarrier, batchesTotal)
    }

    init(setup: OperatorSetup, role: Role, inbox: OperatorInbox, downstream: OperatorInbox?, deadLetters: OperatorInbox?,
         mailbox: CoordinatorMailbox, hasDeadLetterOutput: Bool, deliveryMode: DeliveryMode, pipelineName: String) {
        self.setup = setup
        self.role = role
        self.inbox = inbox
        self.downstream = downstream
        self.deadLetters = deadLetters
        self.mailbox = mailbox
        self.hasDeadLetterOutput = hasDeadLetterOutput
        self.deliveryMode = deliveryMode
        self.pipelineName = pipelineName
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "op-\(setup.spec.name)"
        thread.stackSize = 8 << 20
        self.thread = thread
        thread.start()
    }

    // MARK: - Thread body

    private func run() {
        do {
            try prepare()
            mailbox.post(.ready(index: setup.index))
            if role == .source { try runSource() } else { try runConsumer() }
            try instance?.close()
            instance?.destroy()
            instance = nil
            mailbox.post(.stopped(index: setup.index))
        } catch {
            mailbox.post(.failed(index: setup.index, error: error))
        }
    }

    private func prepare() throws {
        let context = HostContext(operatorName: setup.spec.name, pluginName: setup.plugin.name, hasDeadLetterOutput: hasDeadLetterOutput)
        let instance = try PluginInstance(plugin: setup.plugin, configJSON: setup.spec.configJSON, context: context,
                                          stateDirectory: setup.stateDirectory, deliveryMode: deliveryMode, pipelineName: pipelineName)
        self.instance = instance
        if let restore = setup.restore { try instance.restore(restore.checkpoint, state: restore.state) }
        try instance.open()
    }

    // MARK: - Source

    private func runSource() throws {
        let instance = instance!, downstream = downstream!
        var reading = true
        while true {
            let control = reading ? inbox.pollControl() : inbox.waitControl()
            if let control {
                switch control {
                case .injectBarrier(let id):
                    try barrier(id)
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
                count(batch)
                downstream.push(.batch(batch))
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
        let instance = instance!
        while true {
            switch inbox.next() {
            case .control(.shutdown):
                return
            case .control(let control):
                try handle(control)
            case .item(.batch(let batch)):
                count(batch)
                switch role {
                case .transform:
                    let (output, rejected) = try instance.process(batch)
                    if let rejected { downstream!.push(.deadLetters(rejected)) }
                    downstream!.push(.batch(output))
                default:
                    try instance.write(batch)
                }
            case .item(.deadLetters(let batch)) where role == .deadLetterSink:
                count(batch)
                try instance.write(batch)
            case .item(.deadLetters(let batch)):
                // Transforms pass dead letters on; the main sink hands them to the dead-letter sink.
                (downstream ?? deadLetters)?.push(.deadLetters(batch))
            case .item(.barrier(let id)):
                try barrier(id)
            }
        }
    }

    @inline(__always)
    private func count(_ batch: ArrowBatch) {
        statsLock.lock()
        rowsSinceBarrier += batch.length
        batchesTotal += 1
        statsLock.unlock()
    }

    // MARK: - Checkpoints

    /// Snapshots, acknowledges to the coordinator, then forwards the barrier.
    private func barrier(_ id: UInt64) throws {
        let state = try instance!.snapshot(id)
        statsLock.lock()
        let rows = rowsSinceBarrier
        rowsTotal += rows
        rowsSinceBarrier = 0
        statsLock.unlock()
        mailbox.post(.acknowledged(checkpoint: id, index: setup.index, state: state, rows: rows))
        (downstream ?? deadLetters)?.push(.barrier(id))
    }

    private func handle(_ control: ControlMessage) throws {
        switch control {
        case .notifyComplete(let id): try instance!.notifyComplete(id)
        case .notifyAborted(let id): instance!.notifyAborted(id)
        default: break
        }
    }
}
