/// What a two-phase-commit sink supplies to ``TwoPhaseCommit``: where an epoch's rows are
/// staged and how a sealed epoch is made visible. Everything else (which epochs are pending,
/// what the checkpoint state lists, what a restore keeps, when to commit) is the kit's.
///
/// An epoch is the rows between two barriers, named by the id of the checkpoint whose barrier
/// ended it. The store writes the epoch in progress somewhere of its own, and on `seal` makes
/// it durable under that id (a crash after `seal` returned must leave the sealed epoch intact).
///
/// Threads: `seal`, `discardCurrent`, `discard`, `stagedEpochs` and `isStaged` are called on the
/// sink's operator thread; `commit` on the operator thread, or on the committer thread when the
/// kit commits in the background (see ``TwoPhaseCommit/init(store:committing:)``), one epoch
/// at a time.
public protocol EpochStore: AnyObject {
    /// Makes the epoch in progress durable as sealed epoch `epoch`, and starts the next one.
    /// Returns false when the epoch holds nothing to commit: it is then not listed at all.
    func seal(_ epoch: UInt64) throws -> Bool

    /// Makes sealed epoch `epoch` visible in the destination, then removes it from staging
    /// (that removal is the last step: a sealed epoch still staged is not known to be
    /// committed). Must be idempotent: after a crash the same epoch is committed again, and
    /// `afterRestore` says so, so a store whose destination cannot deduplicate by itself checks
    /// what already landed before it writes again.
    func commit(_ epoch: UInt64, afterRestore: Bool) throws

    /// Whether sealed epoch `epoch` is still staged. A restored checkpoint may list an epoch
    /// that is gone: it was committed and removed before the crash. Throw when the destination
    /// shows it was never committed either (the staging folder was changed by hand).
    func isStaged(_ epoch: UInt64) throws -> Bool

    /// The sealed epochs in staging, in any order.
    func stagedEpochs() throws -> [UInt64]

    /// Drops the epoch in progress: its rows belong to no checkpoint, and the source replays them.
    func discardCurrent() throws

    /// Drops a sealed epoch whose checkpoint never completed (the source replays its rows).
    func discard(_ epoch: UInt64) throws
}
