import Glibc
import ThreadConditions

/// The bounded hand-over between the event loop (which appends the unpacked messages of each
/// entry) and the application thread (which takes them, waiting a bounded time). Its size is
/// bounded by the flow permits: the broker never has more than the receiver queue size
/// outstanding per partition.
///
/// Messages travel in chunks (the messages of one entry, with the index of the partition
/// consumer they came from), so handing over a message costs no reference counting; a chunk
/// cut by `max` is split as two ranges of the same entry.
///
/// Thread-safe. `@unchecked Sendable`: its state is only touched under `condition`'s lock.
final class MessageQueue: @unchecked Sendable {
    struct Chunk {
        var consumer: Int
        var entry: ReceivedEntry
        /// The messages of `entry` (indexes of its spans) this chunk holds.
        var indices: Range<Int>
        /// Payload bytes of those messages.
        var bytes: Int
    }

    private let condition = ThreadCondition()
    private var chunks: [Chunk] = []
    private var head = 0
    private var queued = 0
    private var failure: PulsarError?

    /// Messages waiting.
    var count: Int {
        condition.lock()
        defer { condition.unlock() }
        return queued
    }

    /// Chunks the queue's array holds, taken ones included (for tests: it must stay bounded).
    var storedChunks: Int {
        condition.lock()
        defer { condition.unlock() }
        return chunks.count
    }

    /// Appends the messages of one entry, `bytes` of payload in all (event loop).
    func append(consumer: Int, _ entry: ReceivedEntry, bytes: Int) {
        guard entry.count > 0 else { return }
        condition.lock()
        chunks.append(Chunk(consumer: consumer, entry: entry, indices: 0..<entry.count, bytes: bytes))
        queued += entry.count
        condition.signal()
        condition.unlock()
    }

    /// The consumer failed for good: wakes the taker, which then throws.
    func fail(_ error: PulsarError) {
        condition.lock()
        failure = error
        condition.broadcast()
        condition.unlock()
    }

    /// Takes up to `max` messages and `maxBytes` of payload (at least one message) in order, as
    /// chunks, waiting at most `timeoutNanoseconds` for the first.
    func take(max: Int, maxBytes: Int = .max, timeoutNanoseconds: UInt64) throws -> [Chunk] {
        condition.lock()
        defer { condition.unlock() }
        if queued == 0 && failure == nil && timeoutNanoseconds > 0 {
            let deadline = ThreadCondition.monotonicNanoseconds() + timeoutNanoseconds
            while queued == 0 && failure == nil && condition.wait(untilMonotonic: deadline) {}
        }
        if let failure, queued == 0 { throw failure }
        var taken: [Chunk] = []
        var wanted = Swift.min(max, queued)
        var bytesLeft = maxBytes
        while wanted > 0 && bytesLeft > 0 {
            let available = chunks[head].indices.count
            if available <= wanted && (chunks[head].bytes <= bytesLeft || taken.isEmpty && available == 1) {
                // Moved out, so the queue keeps no reference to the entry.
                var chunk = Chunk(consumer: 0, entry: .empty, indices: 0..<0, bytes: 0)
                swap(&chunk, &chunks[head])
                head += 1
                wanted -= available
                queued -= available
                bytesLeft -= chunk.bytes
                taken.append(chunk)
            } else {
                // Part of the chunk: as many messages as `wanted` and the bytes allow, one at least
                // when nothing was taken yet.
                let indices = chunks[head].indices
                var cut = indices.lowerBound, bytes = 0
                while cut < indices.upperBound, cut - indices.lowerBound < wanted {
                    let size = Int(chunks[head].entry.spans[cut].payloadCount)
                    if bytes + size > bytesLeft && !(taken.isEmpty && cut == indices.lowerBound) { break }
                    bytes += size
                    cut += 1
                }
                if cut > indices.lowerBound {
                    var part = chunks[head]
                    part.indices = indices.lowerBound..<cut
                    part.bytes = bytes
                    taken.append(part)
                    chunks[head].indices = cut..<indices.upperBound
                    chunks[head].bytes -= bytes
                    queued -= cut - indices.lowerBound
                }
                break
            }
        }
        if head == chunks.count {
            chunks.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 16 && head * 2 >= chunks.count {
            // Taken chunks leave an empty slot each (about 200 bytes): drop them once they are
            // half the array, so a queue that never drains does not grow. Amortised O(1): no
            // more chunks move than slots are dropped.
            chunks.removeFirst(head)
            head = 0
        }
        return taken
    }
}
