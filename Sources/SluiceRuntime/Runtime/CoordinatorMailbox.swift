import Glibc
import ThreadConditions

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
    /// The manifest of `checkpoint` was written (failure nil) or not.
    case persistFinished(checkpoint: UInt64, failure: String?)
}

/// A many-producer, one-consumer queue with a timed wait, so the coordinator can tick.
final class CoordinatorMailbox: @unchecked Sendable {
    // @unchecked Sendable: `events` is only touched under `condition`'s lock.
    private let condition = ThreadCondition()
    private var events: [WorkerEvent] = []

    func post(_ event: WorkerEvent) {
        condition.withLock {
            events.append(event)
            condition.signal()
        }
    }

    /// Every waiting event, after waiting up to `timeoutNanoseconds` for the first.
    func take(timeoutNanoseconds: UInt64) -> [WorkerEvent] {
        condition.withLock {
            if events.isEmpty && timeoutNanoseconds > 0 {
                let deadline = ThreadCondition.monotonicNanoseconds() + timeoutNanoseconds
                while events.isEmpty && condition.wait(untilMonotonic: deadline) {}
            }
            let taken = events
            events.removeAll(keepingCapacity: true)
            return taken
        }
    }
}
