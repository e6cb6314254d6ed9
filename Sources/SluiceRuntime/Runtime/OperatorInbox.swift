import Glibc
import SluiceArrow

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
    /// Close and destroy the plugin, then end the thread.
    case shutdown
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

    private var mutex = pthread_mutex_t()
    private var readable = pthread_cond_t()
    private var writable = pthread_cond_t()
    private var ring: [StreamItem?]
    private var head = 0
    private var count = 0
    private var controls: [ControlMessage] = []
    private var consumerWaiting = false
    private var producersWaiting = 0

    init(capacity: Int) {
        ring = Array(repeating: nil, count: max(1, capacity))
        pthread_mutex_init(&mutex, nil)
        pthread_cond_init(&readable, nil)
        pthread_cond_init(&writable, nil)
    }

    deinit {
        pthread_mutex_destroy(&mutex)
        pthread_cond_destroy(&readable)
        pthread_cond_destroy(&writable)
    }

    /// Items waiting in the data lane.
    var depth: Int {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return count
    }

    /// Appends to the data lane, waiting while it is full.
    func push(_ item: StreamItem) {
        pthread_mutex_lock(&mutex)
        while count == ring.count {
            producersWaiting += 1
            pthread_cond_wait(&writable, &mutex)
            producersWaiting -= 1
        }
        ring[(head + count) % ring.count] = item
        count += 1
        let wake = consumerWaiting
        pthread_mutex_unlock(&mutex)
        if wake { pthread_cond_signal(&readable) }
    }

    func send(_ control: ControlMessage) {
        pthread_mutex_lock(&mutex)
        controls.append(control)
        let wake = consumerWaiting
        pthread_mutex_unlock(&mutex)
        if wake { pthread_cond_signal(&readable) }
    }

    /// The next control message, else the next item; waits when both lanes are empty.
    func next() -> Next {
        pthread_mutex_lock(&mutex)
        while controls.isEmpty && count == 0 {
            consumerWaiting = true
            pthread_cond_wait(&readable, &mutex)
            consumerWaiting = false
        }
        if !controls.isEmpty {
            let control = controls.removeFirst()
            pthread_mutex_unlock(&mutex)
            return .control(control)
        }
        let item = ring[head]!
        ring[head] = nil
        head = (head + 1) % ring.count
        count -= 1
        let wake = producersWaiting > 0
        pthread_mutex_unlock(&mutex)
        if wake { pthread_cond_signal(&writable) }
        return .item(item)
    }

    /// A control message if one is waiting (the source polls between batches).
    func pollControl() -> ControlMessage? {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return controls.isEmpty ? nil : controls.removeFirst()
    }

    /// Waits for a control message (a source that has stopped reading).
    func waitControl() -> ControlMessage {
        pthread_mutex_lock(&mutex)
        while controls.isEmpty {
            consumerWaiting = true
            pthread_cond_wait(&readable, &mutex)
            consumerWaiting = false
        }
        let control = controls.removeFirst()
        pthread_mutex_unlock(&mutex)
        return control
    }
}
