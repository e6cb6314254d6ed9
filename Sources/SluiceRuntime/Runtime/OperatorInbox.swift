import SluiceArrow
import ThreadConditions

/// What flows between operators, in order.
enum StreamItem {
    case batch(ArrowBatch)
    /// Rows rejected upstream, on their way to the dead-letter sink.
    case deadLetters(ArrowBatch)
    /// Checkpoint barrier `id`: everything before it belongs to the checkpoint.
    case barrier(UInt64)
}

/// Instructions from the coordinator, delivered ahead of queued data.
enum ControlMessage {
    /// Source only: snapshot between two batches and emit barrier `id`.
    case injectBarrier(UInt64)
    case notifyComplete(UInt64)
    case notifyAborted(UInt64)
    /// Source only: read no more (a graceful stop has begun).
    case stopReading
    /// Main sink only: pause at the next barrier, so nothing after it reaches the old plugin.
    case prepareSwap
    /// Main sink only, while paused: close the old plugin (it commits what it sealed), switch
    /// to the new one, opened beforehand, and resume.
    case swap(OperatorSetup, PluginInstance)
    /// Main sink only: forget the swap and resume.
    case cancelSwap
    /// Close and destroy the plugin, then end the thread (a chain's head: every operator of
    /// its chain).
    case shutdown
    /// For operator `index`, chained to the thread that reads this inbox (see
    /// `OperatorThread.send`).
    indirect case chained(index: Int, ControlMessage)
}

/// The input of one operator thread: a bounded data lane (a full lane blocks the producer,
/// which is how backpressure reaches the source) and an unbounded control lane that is
/// always read first.
///
/// Any thread may push; one thread (the operator's) takes.
final class OperatorInbox {
    enum Next {
        case control(ControlMessage)
        case item(StreamItem)
    }

    private let condition = ThreadCondition(conditions: 2)
    private let readable = 0, writable = 1
    private var ring: [StreamItem?]
    private var head = 0
    private var count = 0
    private var controls: [ControlMessage] = []
    private var consumerWaiting = false
    private var producersWaiting = 0

    init(capacity: Int) {
        ring = Array(repeating: nil, count: max(1, capacity))
    }

    /// Items waiting in the data lane.
    var depth: Int {
        condition.lock()
        defer { condition.unlock() }
        return count
    }

    /// Appends to the data lane, waiting while it is full.
    func push(_ item: StreamItem) {
        condition.lock()
        while count == ring.count {
            producersWaiting += 1
            condition.wait(writable)
            producersWaiting -= 1
        }
        ring[(head + count) % ring.count] = item
        count += 1
        let wake = consumerWaiting
        condition.unlock()
        if wake { condition.signal(readable) }
    }

    func send(_ control: ControlMessage) {
        condition.lock()
        controls.append(control)
        let wake = consumerWaiting
        condition.unlock()
        if wake { condition.signal(readable) }
    }

    /// The next control message, else the next item; waits when both lanes are empty.
    func next() -> Next {
        condition.lock()
        while controls.isEmpty && count == 0 {
            consumerWaiting = true
            condition.wait(readable)
            consumerWaiting = false
        }
        if !controls.isEmpty {
            let control = controls.removeFirst()
            condition.unlock()
            return .control(control)
        }
        let item = ring[head]!
        ring[head] = nil
        head = (head + 1) % ring.count
        count -= 1
        let wake = producersWaiting > 0
        condition.unlock()
        if wake { condition.signal(writable) }
        return .item(item)
    }

    /// A control message if one is waiting (the source polls between batches).
    func pollControl() -> ControlMessage? {
        condition.lock()
        defer { condition.unlock() }
        return controls.isEmpty ? nil : controls.removeFirst()
    }

    /// Waits for a control message (a source that has stopped reading).
    func waitControl() -> ControlMessage {
        condition.lock()
        while controls.isEmpty {
            consumerWaiting = true
            condition.wait(readable)
            consumerWaiting = false
        }
        let control = controls.removeFirst()
        condition.unlock()
        return control
    }
}
