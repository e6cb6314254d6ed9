import Glibc

/// What operator threads and signal handlers tell the coordinator thread.
enum WorkerEvent {
    /// Operator `index` created, restored and opened its plugin.
    case ready(index: Int)
    case acknowledged(checkpoint: UInt64, index: Int, state: [UInt8], rows: Int)
    /// Operator `index` could not snapshot for `checkpoint`: that checkpoint aborts.
    case declined(checkpoint: UInt64, index: Int, reason: String)
    case failed(index: Int, error: Error)
    /// The source returned end-of-stream.
    case sourceEnded
    /// SIGTERM or SIGINT: stop gracefully.
    case stopRequested(signal: Int32)
    /// SIGUSR1: take a savepoint with a generated name.
    case savepointRequested
    /// The thread of operator `index` has ended.
    case stopped(index: Int)
    /// The main sink paused at barrier `checkpoint` for a swap, at `at` (monotonic nanoseconds).
    case sinkPaused(checkpoint: UInt64, at: UInt64)
    /// The paused main sink's old plugin closed at `at` (monotonic nanoseconds), its last
    /// epoch committed.
    case sinkCommitted(at: UInt64)
    /// The new sink of a swap was created and opened beside the running one, or failed to.
    case swapPrepared(Result<PluginInstance, Error>)
    /// The main sink was swapped at `at` (monotonic nanoseconds).
    case sinkSwapped(at: UInt64)
    /// A request from the admin API, answered through its reply.
    case admin(AdminCommand)
}

/// A many-producer, one-consumer queue with a timed wait, so the coordinator can tick.
final class CoordinatorMailbox {
    private var mutex = pthread_mutex_t()
    private var ready = pthread_cond_t()
    private var events: [WorkerEvent] = []

    init() {
        pthread_mutex_init(&mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(&ready, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    func post(_ event: WorkerEvent) {
        pthread_mutex_lock(&mutex)
        events.append(event)
        pthread_mutex_unlock(&mutex)
        pthread_cond_signal(&ready)
    }

    /// Every waiting event, after waiting up to `timeoutNanoseconds` for the first.
    func take(timeoutNanoseconds: UInt64) -> [WorkerEvent] {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        if events.isEmpty && timeoutNanoseconds > 0 {
            let deadline = monotonicNanoseconds() + timeoutNanoseconds
            var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
            while events.isEmpty {
                if pthread_cond_timedwait(&ready, &mutex, &ts) == ETIMEDOUT { break }
            }
        }
        let taken = events
        events.removeAll(keepingCapacity: true)
        return taken
    }
}
