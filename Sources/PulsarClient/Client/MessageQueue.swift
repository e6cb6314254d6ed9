import Glibc

/// The bounded hand-over between the event loop (which appends unpacked messages) and the
/// application thread (which takes them, waiting a bounded time). Its size is bounded by the
/// flow permits: the broker never has more than the receiver queue size outstanding per
/// partition.
///
/// Thread-safe (a mutex and a condition variable).
final class MessageQueue: @unchecked Sendable {
    struct Item {
        var consumer: Int
        var message: ReceivedMessage
    }

    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var items: [Item] = []
    private var head = 0
    private var failure: PulsarError?

    init() {
        pthread_mutex_init(&mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(&condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(&condition)
        pthread_mutex_destroy(&mutex)
    }

    var count: Int {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return items.count - head
    }

    func append(contentsOf new: [Item]) {
        guard !new.isEmpty else { return }
        pthread_mutex_lock(&mutex)
        items.append(contentsOf: new)
        pthread_cond_signal(&condition)
        pthread_mutex_unlock(&mutex)
    }

    /// The consumer failed for good: wakes the taker, which then throws.
    func fail(_ error: PulsarError) {
        pthread_mutex_lock(&mutex)
        failure = error
        pthread_cond_broadcast(&condition)
        pthread_mutex_unlock(&mutex)
    }

    /// Takes up to `max` items, waiting at most `timeoutNanoseconds` for the first.
    func take(max: Int, timeoutNanoseconds: UInt64) throws -> [Item] {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        if items.count == head && failure == nil && timeoutNanoseconds > 0 {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let total = UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec) + timeoutNanoseconds
            var deadline = timespec(tv_sec: Int(total / 1_000_000_000), tv_nsec: Int(total % 1_000_000_000))
            while items.count == head && failure == nil {
                if pthread_cond_timedwait(&condition, &mutex, &deadline) == ETIMEDOUT { break }
            }
        }
        if let failure, items.count == head { throw failure }
        let n = Swift.min(max, items.count - head)
        guard n > 0 else { return [] }
        let taken = Array(items[head..<head + n])
        head += n
        if head == items.count {
            items.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 4096 && head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        return taken
    }
}
