import XCTest
import PluginKit

/// The two-phase-commit kit against an in-memory store whose "disk" survives a simulated crash
/// at every step of the protocol: each row must reach the destination exactly once.
final class TwoPhaseCommitTests: XCTestCase {
    /// What survives a crash: staged epochs, the destination, and the last durable checkpoint.
    final class Disk {
        var current: [Int] = []
        var sealed: [UInt64: [Int]] = [:]
        var destination: [Int] = []
        /// Epochs whose rows are in the destination (what a store with no dedup of its own
        /// looks up after a restore, like the query log).
        var landed: Set<UInt64> = []
        /// The last completed checkpoint: its id, the sink's state, the source's next row.
        var checkpoint: (id: UInt64, pending: [UInt64], nextRow: Int)?
    }

    struct Crash: Error {}

    enum Step: CaseIterable {
        case afterSeal, afterCheckpointDurable, afterDestinationWrite, afterStagingRemoved
    }

    final class Store: EpochStore {
        let disk: Disk
        var crashAt: Step?
        private(set) var commits: [(epoch: UInt64, afterRestore: Bool)] = []

        init(disk: Disk) { self.disk = disk }

        func seal(_ epoch: UInt64) throws -> Bool {
            guard !disk.current.isEmpty else { return false }
            disk.sealed[epoch] = disk.current
            disk.current = []
            return true
        }

        func commit(_ epoch: UInt64, afterRestore: Bool) throws {
            commits.append((epoch, afterRestore))
            let rows = disk.sealed[epoch]!
            if !(afterRestore && disk.landed.contains(epoch)) {
                XCTAssertFalse(disk.landed.contains(epoch), "epoch \(epoch) written twice without afterRestore")
                disk.destination += rows
                disk.landed.insert(epoch)
            }
            if crashAt == .afterDestinationWrite { throw Crash() }
            disk.sealed[epoch] = nil
            if crashAt == .afterStagingRemoved { throw Crash() }
        }

        func isStaged(_ epoch: UInt64) throws -> Bool { disk.sealed[epoch] != nil }
        func stagedEpochs() throws -> [UInt64] { Array(disk.sealed.keys) }
        func discardCurrent() throws { disk.current = [] }
        func discard(_ epoch: UInt64) throws { disk.sealed[epoch] = nil }
    }

    /// Runs rows 0..<rowCount through epochs of `perEpoch` rows, checkpointing after each,
    /// crashing once at `step` of epoch `crashEpoch`, then recovering from the last durable
    /// checkpoint and replaying from its source position.
    func run(rowCount: Int, perEpoch: Int, crashEpoch: UInt64?, step: Step?,
             committing: TwoPhaseCommit<Store>.Committing = .inline) throws -> Disk {
        let disk = Disk()
        var crashesLeft = crashEpoch == nil ? 0 : 1
        var nextRow = 0
        var epoch: UInt64 = 0
        var finished = false
        while !finished {
            let store = Store(disk: disk)
            let commit = TwoPhaseCommit(store: store, committing: committing)
            // The source resumes where the last durable checkpoint says (the start without one).
            nextRow = disk.checkpoint?.nextRow ?? 0
            epoch = disk.checkpoint?.id ?? 0
            if let checkpoint = disk.checkpoint {
                try commit.restore(listing: checkpoint.pending)
                try commit.commitRestored()
            }
            try commit.prepare()
            do {
                while nextRow < rowCount {
                    epoch += 1
                    let end = min(nextRow + perEpoch, rowCount)
                    disk.current += Array(nextRow..<end)
                    nextRow = end
                    let crashing = crashesLeft > 0 && epoch == crashEpoch
                    let pending = try commit.seal(checkpointID: epoch)
                    if crashing && step == .afterSeal { throw Crash() }
                    disk.checkpoint = (epoch, pending, nextRow)
                    if crashing && step == .afterCheckpointDurable { throw Crash() }
                    if crashing { store.crashAt = step }
                    try commit.checkpointComplete(checkpointID: epoch)
                    try commit.finishCommits()
                }
                commit.stop()
                finished = true
            } catch is Crash {
                crashesLeft -= 1
                commit.stop()
            }
        }
        return disk
    }

    func testEveryRowLandsOnceWhateverStepTheCrashInterrupts() throws {
        for committing in [TwoPhaseCommit<Store>.Committing.inline, .background(maxQueuedEpochs: 2, threadName: "test committer")] {
            for step in Step.allCases {
                for crashEpoch in UInt64(1)...4 {
                    let disk = try run(rowCount: 40, perEpoch: 10, crashEpoch: crashEpoch, step: step, committing: committing)
                    XCTAssertEqual(disk.destination.sorted(), Array(0..<40), "crash \(step) in epoch \(crashEpoch), \(committing)")
                    XCTAssertTrue(disk.sealed.isEmpty, "nothing staged is left behind: \(disk.sealed.keys)")
                }
            }
        }
    }

    func testWithoutACrashEachEpochIsCommittedOnceAndNotAsARestore() throws {
        let disk = Disk()
        let store = Store(disk: disk)
        let commit = TwoPhaseCommit(store: store)
        try commit.prepare()
        disk.current = [1, 2]
        XCTAssertEqual(try commit.seal(checkpointID: 1), [1])
        XCTAssertEqual(try commit.seal(checkpointID: 2), [1], "an empty epoch is not listed")
        disk.current = [3]
        XCTAssertEqual(try commit.seal(checkpointID: 3), [1, 3])
        try commit.checkpointComplete(checkpointID: 2)
        XCTAssertEqual(commit.pending, [3], "only epochs up to the completed checkpoint are committed")
        try commit.checkpointComplete(checkpointID: 3)
        XCTAssertEqual(store.commits.map(\.epoch), [1, 3])
        XCTAssertEqual(store.commits.map(\.afterRestore), [false, false])
        XCTAssertEqual(disk.destination, [1, 2, 3])
    }

    func testARestoreDropsWhatTheCheckpointDoesNotListAndMarksWhatItDoes() throws {
        let disk = Disk()
        disk.sealed = [4: [40], 5: [50], 6: [60]]
        disk.current = [70]
        let store = Store(disk: disk)
        let commit = TwoPhaseCommit(store: store)
        try commit.restore(listing: [5, 4])
        XCTAssertEqual(commit.pending, [4, 5])
        XCTAssertEqual(disk.current, [], "the epoch in progress belongs to no checkpoint")
        XCTAssertEqual(Set(disk.sealed.keys), [4, 5], "epoch 6's checkpoint never completed")
        XCTAssertEqual(try commit.commitRestored(), [4, 5])
        XCTAssertEqual(store.commits.map(\.afterRestore), [true, true])
        try commit.prepare()
        XCTAssertEqual(disk.destination, [40, 50], "prepare after a restore drops nothing")
    }

    func testAFreshStartDropsWhatAnEarlierRunLeftStaged() throws {
        let disk = Disk()
        disk.sealed = [1: [1]]
        disk.current = [2]
        let commit = TwoPhaseCommit(store: Store(disk: disk))
        try commit.prepare()
        XCTAssertTrue(disk.sealed.isEmpty)
        XCTAssertEqual(disk.current, [])
        XCTAssertEqual(commit.pending, [])
    }

    func testABackgroundFailureIsThrownByTheNextCallAndTheEpochStaysPending() throws {
        let disk = Disk()
        let store = Store(disk: disk)
        let commit = TwoPhaseCommit(store: store, committing: .background(maxQueuedEpochs: 1, threadName: "test committer"))
        try commit.prepare()
        disk.current = [1]
        _ = try commit.seal(checkpointID: 1)
        store.crashAt = .afterDestinationWrite
        try commit.checkpointComplete(checkpointID: 1)
        XCTAssertThrowsError(try commit.finishCommits()) { XCTAssertTrue($0 is Crash) }
        XCTAssertThrowsError(try commit.waitForCapacity()) { XCTAssertTrue($0 is Crash) }
        XCTAssertThrowsError(try commit.seal(checkpointID: 2)) { XCTAssertTrue($0 is Crash) }
        XCTAssertEqual(commit.pending, [1], "a failed epoch stays in the state, for the restore")
        commit.stop()
    }

    func testPendingEpochsRoundTripAndAStateOfTheWrongShapeIsRejected() throws {
        XCTAssertEqual(try PendingEpochs.decode(PendingEpochs.encode([1, 2, UInt64.max]), sink: "s"), [1, 2, UInt64.max])
        XCTAssertEqual(try PendingEpochs.decode([], sink: "s"), [])
        XCTAssertThrowsError(try PendingEpochs.decode([1, 2, 3], sink: "file-sink")) { error in
            XCTAssertTrue("\(error)".contains("file-sink state"), "\(error)")
        }
    }
}
