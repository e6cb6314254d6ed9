import Foundation

/// The two-phase commit every exactly-once sink runs, written once (after Flink's
/// `TwoPhaseCommitSinkFunction`): the sink stages each epoch's rows through its
/// ``EpochStore``; on the barrier the epoch is sealed durably and the sealed, uncommitted epochs
/// are the sink's checkpoint state; when the checkpoint completes every sealed epoch up to it
/// is committed; after a restore, sealed epochs the checkpoint does not list are discarded (the
/// source replays their rows) and those it lists are committed again, idempotently.
///
///     init ── restore(listing:)? ── prepare() (in open) ──┬─ seal(checkpointID) → state
///                                                         ├─ checkpointComplete(checkpointID)
///                                                         └─ finishCommits() (in close)
///
/// An epoch leaves `pending`, and so every later state, only once its commit returned: a crash
/// at any point before re-commits it after the restore.
///
/// Committing runs either on the calling thread (`.inline`: `checkpointComplete` returns when
/// the epochs are visible) or on a committer thread of its own (`.background`), so the next
/// epoch is staged while the last one is sent; then `waitForCapacity` holds the writer back
/// while `maxQueuedEpochs` completed epochs wait, and a commit failure is thrown by the next
/// call on the sink's thread.
///
/// `@unchecked Sendable`: the committer thread and the sink's thread share only what is
/// guarded by `condition`.
public final class TwoPhaseCommit<Store: EpochStore>: @unchecked Sendable {
    public enum Committing {
        case inline
        case background(maxQueuedEpochs: Int, threadName: String)
    }

    public let store: Store
    private let committing: Committing
    private let condition = NSCondition()
    // Guarded by `condition`:
    private var pendingEpochs: [UInt64] = []
    /// Epochs a restore listed and that are not committed again yet.
    private var restoredEpochs: Set<UInt64> = []
    /// Completed epochs handed to the committer thread, ascending; the first is being committed.
    private var queue: [UInt64] = []
    private var handedOff: UInt64 = 0
    private var failure: Error?
    private var committerRunning = false
    private var stopping = false
    private var prepared = false

    public init(store: Store, committing: Committing = .inline) {
        self.store = store
        self.committing = committing
    }

    deinit { stop() }

    /// Sealed epochs not yet committed, ascending: what the checkpoint state lists.
    public var pending: [UInt64] { condition.withLock { pendingEpochs } }

    // MARK: - Starting

    /// Takes the sealed epochs a restored checkpoint lists. Staging not listed goes: the epoch
    /// in progress and sealed epochs of checkpoints that never completed. A listed epoch no
    /// longer staged was committed before the crash. Call ``commitRestored()`` once the
    /// destination can be reached.
    public func restore(listing listed: [UInt64]) throws {
        try store.discardCurrent()
        let keep = Set(listed)
        for epoch in try store.stagedEpochs() where !keep.contains(epoch) { try store.discard(epoch) }
        let staged = try listed.sorted().filter { try store.isStaged($0) }
        condition.withLock {
            pendingEpochs = staged
            restoredEpochs = Set(staged)
            prepared = true
        }
    }

    /// Called from `open`: on a fresh start (no restore came first) drops whatever an earlier
    /// run left staged, since no completed checkpoint covers it.
    public func prepare() throws {
        if !condition.withLock({ prepared }) { try restore(listing: []) }
    }

    /// Commits every epoch the restored checkpoint listed, on the calling thread. Their
    /// checkpoint completed (it was restored), so they are due.
    @discardableResult
    public func commitRestored() throws -> [UInt64] {
        let epochs = pending
        for epoch in epochs { try commitOne(epoch) }
        return epochs
    }

    // MARK: - Checkpoints

    /// Seals the epoch in progress under `checkpointID` and returns the pending epochs, for
    /// the sink's state.
    public func seal(checkpointID: UInt64) throws -> [UInt64] {
        try throwFailure()
        if try store.seal(checkpointID) { condition.withLock { pendingEpochs.append(checkpointID) } }
        return pending
    }

    /// Checkpoint `checkpointID` is durable: commits every sealed epoch up to it (inline), or
    /// hands them to the committer thread and returns (background).
    public func checkpointComplete(checkpointID: UInt64) throws {
        switch committing {
        case .inline:
            for epoch in pending where epoch <= checkpointID { try commitOne(epoch) }
        case .background(_, let threadName):
            try condition.withLock {
                if let failure { throw failure }
                let due = pendingEpochs.filter { $0 <= checkpointID && $0 > handedOff }
                guard let last = due.last else { return }
                queue.append(contentsOf: due)
                handedOff = last
                if !committerRunning { startCommitter(named: threadName) }
                condition.broadcast()
            }
        }
    }

    // MARK: - Background committing

    /// Backpressure for the writer: blocks while `maxQueuedEpochs` completed epochs wait for the
    /// committer. Throws the committer's failure.
    public func waitForCapacity() throws {
        guard case .background(let maxQueued, _) = committing else { return }
        try condition.withLock {
            while failure == nil && queue.count >= maxQueued { condition.wait() }
            if let failure { throw failure }
        }
    }

    /// Blocks until every epoch handed to the committer is committed, or throws its failure
    /// (the epoch stays pending: the restore that follows commits it again).
    public func finishCommits() throws {
        try condition.withLock {
            while failure == nil && !queue.isEmpty { condition.wait() }
            if let failure { throw failure }
        }
    }

    /// Lets the committer thread end once its queue is empty or it failed.
    public func stop() {
        condition.withLock {
            stopping = true
            condition.broadcast()
        }
    }

    /// Called with `condition` held.
    private func startCommitter(named name: String) {
        stopping = false
        committerRunning = true
        let thread = Thread { [self] in
            while let epoch = nextQueued() {
                do { try commitOne(epoch) } catch {
                    condition.withLock {
                        failure = error
                        committerRunning = false
                        condition.broadcast()
                    }
                    return
                }
                condition.withLock {
                    queue.removeFirst()
                    condition.broadcast()
                }
            }
        }
        thread.name = name
        thread.start()
    }

    /// The committer's next epoch; nil (and the thread ends) once stopped with nothing queued.
    private func nextQueued() -> UInt64? {
        condition.withLock {
            while queue.isEmpty && !stopping { condition.wait() }
            guard let epoch = queue.first else {
                committerRunning = false
                return nil
            }
            return epoch
        }
    }

    // MARK: - Committing one epoch

    private func commitOne(_ epoch: UInt64) throws {
        let afterRestore = condition.withLock { restoredEpochs.contains(epoch) }
        try store.commit(epoch, afterRestore: afterRestore)
        condition.withLock {
            pendingEpochs.removeAll { $0 == epoch }
            restoredEpochs.remove(epoch)
        }
    }

    private func throwFailure() throws {
        try condition.withLock { if let failure { throw failure } }
    }
}
