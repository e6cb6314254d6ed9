import Glibc

/// The bounded hand-over between the event loop (which appends the unpacked messages of each
/// entry) and the application thread (which takes them, waiting a bounded time). Its size is
/// bounded by the flow permits: the broker never has more than the receiver queue size
/// outstanding per partition.
///
/// Messages travel in chunks (the messages of one entry, with the index of the partition
/// consumer they came from) and chunks are moved, not copied, so handing over a message costs
/// no reference counting of its fields; a chunk cut by `max` is split as two slices of the same
/// storage.
///
/// Thread-safe (a mutex and a condition variable).
final class MessageQueue: @unchecked Sendable {
    struct Chunk {
        var consumer: Int
        var messages: ArraySlice<ReceivedMessage>
    }

    private var mutex = pthread_mutex_t()
    private var condition = pthread_cond_t()
    private var chunks: [Chunk] = []
    private var head = 0
    private var queued = 0
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

    /// Messages waiting.
    var count: Int {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        return queued
    }

    /// Appends the messages of one entry (event loop).
    func append(consumer: Int, _ messages: [ReceivedMessage]) {
        guard !messages.isEmpty else { return }
        pthread_mutex_lock(&mutex)
        chunks.append(Chunk(consumer: consumer, messages: messages[...]))
        queued += messages.count
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

    /// Takes up to `max` messages in order, as chunks, waiting at most `timeoutNanoseconds`
    /// for the first.
    func take(max: Int, timeoutNanoseconds: UInt64) throws -> [Chunk] {
        pthread_mutex_lock(&mutex)
        defer { pthread_mutex_unlock(&mutex) }
        if queued == 0 && failure == nil && timeoutNanoseconds > 0 {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let total = UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec) + timeoutNanoseconds
            var deadline = timespec(tv_sec: Int(total / 1_000_000_000), tv_nsec: Int(total % 1_000_000_000))
            while queued == 0 && failure == nil {
                if pthread_cond_timedwait(&condition, &mutex, &deadline) == ETIMEDOUT { break }
            }
        }
        if let failure, queued == 0 { throw failure }
        var taken: [Chunk] = []
        var wanted = Swift.min(max, queued)
        while wanted > 0 {
            let available = chunks[head].messages.count
            if available <= wanted {
                var chunk = Chunk(consumer: chunks[head].consumer, messages: [])
                swap(&chunk, &chunks[head])
                head += 1
                taken.append(chunk)
                wanted -= available
                queued -= available
            } else {
                let messages = chunks[head].messages
                let cut = messages.startIndex + wanted
                taken.append(Chunk(consumer: chunks[head].consumer, messages: messages[..<cut]))
                chunks[head].messages = messages[cut...]
                queued -= wanted
                wanted = 0
            }
        }
        if head == chunks.count {
            chunks.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 1024 && head * 2 > chunks.count {
            chunks.removeFirst(head)
            head = 0
        }
        return taken
    }
}
