import Glibc

/// A mutex and the condition variables that wait on it, for the hand-over queues between
/// threads (operator inboxes, the coordinator's mailbox, the Pulsar consumer's queue). Timed
/// waits run on CLOCK_MONOTONIC, so a wall-clock step never stretches or cuts one.
///
/// The pthread objects live in memory allocated here once and never move: a pthread mutex or
/// condition must not be copied or moved, which a Swift stored property passed as `&value`
/// does not promise.
///
/// `@unchecked Sendable`: it is the synchronisation; every method may be called from any thread
/// (`wait`, `signal` and `broadcast` with the lock held, as with any condition variable).
public final class ThreadCondition: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let conditions: UnsafeMutablePointer<pthread_cond_t>
    private let conditionCount: Int

    /// `conditions`: how many distinct conditions wait on the one mutex (e.g. "readable" and
    /// "writable"), addressed by index.
    public init(conditions: Int = 1) {
        precondition(conditions >= 1)
        conditionCount = conditions
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        self.conditions = .allocate(capacity: conditions)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        for index in 0..<conditions {
            (self.conditions + index).initialize(to: pthread_cond_t())
            pthread_cond_init(self.conditions + index, &attributes)
        }
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        for index in 0..<conditionCount { pthread_cond_destroy(conditions + index) }
        conditions.deallocate()
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }

    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Waits for `condition` to be signalled; the lock must be held. Wakes may be spurious:
    /// wait in a loop that checks what is awaited.
    public func wait(_ condition: Int = 0) {
        pthread_cond_wait(conditions + condition, mutex)
    }

    /// Waits for `condition` until the monotonic clock reads `deadline` (nanoseconds); the lock
    /// must be held. False once the deadline has passed.
    public func wait(_ condition: Int = 0, untilMonotonic deadline: UInt64) -> Bool {
        var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        return pthread_cond_timedwait(conditions + condition, mutex, &time) != ETIMEDOUT
    }

    public func signal(_ condition: Int = 0) { pthread_cond_signal(conditions + condition) }
    public func broadcast(_ condition: Int = 0) { pthread_cond_broadcast(conditions + condition) }

    /// The clock timed waits use, in nanoseconds.
    public static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
