import XCTest
@testable import SluiceCore

/// Drives the pure checkpoint state machine with events and explicit clock values.
final class CheckpointCoordinatorTests: XCTestCase {
    typealias Coordinator = CheckpointCoordinator
    typealias Action = CheckpointCoordinator.Action

    static let ms: UInt64 = 1_000_000
    static let interval: UInt64 = 1_000 * ms
    static let timeout: UInt64 = 5_000 * ms
    static let operators: [(name: String, plugin: String)] = [
        (name: "src", plugin: "kafka"),
        (name: "map", plugin: "passthrough"),
        (name: "sink", plugin: "file"),
    ]

    private func makeCoordinator(interval: UInt64? = CheckpointCoordinatorTests.interval,
                                 timeout: UInt64 = CheckpointCoordinatorTests.timeout,
                                 lastCheckpointID: CheckpointID = 0) -> Coordinator {
        Coordinator(configuration: .init(pipeline: "orders", operators: Self.operators,
                                         intervalNanoseconds: interval, timeoutNanoseconds: timeout),
                    lastCheckpointID: lastCheckpointID)
    }

    /// Acknowledges `id` for every operator and returns the actions of the last acknowledgement.
    @discardableResult
    private func ackAll(_ c: inout Coordinator, id: CheckpointID, states: [[UInt8]]? = nil, rows: [Int]? = nil,
                        createdAt: Int64 = 0) -> [Action] {
        var last: [Action] = []
        for i in Self.operators.indices {
            last = c.handle(.acknowledged(id: id, operatorIndex: i, state: states?[i] ?? [UInt8(i)], rows: rows?[i] ?? 0),
                            createdAtMilliseconds: createdAt)
        }
        return last
    }

    /// Runs a checkpoint that is already in flight to completion; returns the `.persisted` actions.
    @discardableResult
    private func complete(_ c: inout Coordinator, id: CheckpointID, now: UInt64) -> [Action] {
        ackAll(&c, id: id)
        return c.handle(.persisted(id: id, now: now))
    }

    private func abortedReason(_ actions: [Action]) -> String? {
        guard actions.count == 1, case .notifyAborted(_, _, let reason) = actions[0] else { return nil }
        return reason
    }

    // MARK: - Periodic trigger

    func testFirstTickOnlyStartsTheIntervalClock() {
        var c = makeCoordinator()
        XCTAssertEqual(c.handle(.tick(now: 10 * Self.interval)), [])
        XCTAssertNil(c.inFlightID)
        // The interval counts from that first tick, not from 0.
        XCTAssertEqual(c.handle(.tick(now: 10 * Self.interval + Self.interval - 1)), [])
        XCTAssertEqual(c.handle(.tick(now: 11 * Self.interval)), [.injectBarrier(id: 1)])
    }

    func testTickBeforeIntervalDoesNothing() {
        var c = makeCoordinator()
        _ = c.handle(.tick(now: 0))
        XCTAssertEqual(c.handle(.tick(now: 1)), [])
        XCTAssertEqual(c.handle(.tick(now: Self.interval - 1)), [])
        XCTAssertNil(c.inFlightID)
    }

    func testTickAtIntervalInjectsBarrierWithNextID() {
        var c = makeCoordinator()
        _ = c.handle(.tick(now: 0))
        XCTAssertEqual(c.handle(.tick(now: Self.interval)), [.injectBarrier(id: 1)])
        XCTAssertEqual(c.inFlightID, 1)
    }

    func testTickAfterIntervalInjectsBarrier() {
        var c = makeCoordinator()
        _ = c.handle(.tick(now: 0))
        XCTAssertEqual(c.handle(.tick(now: 3 * Self.interval + 7)), [.injectBarrier(id: 1)])
    }

    func testIDsContinueFromLastCheckpointIDAndIncreaseByOne() {
        var c = makeCoordinator(lastCheckpointID: 41)
        var now: UInt64 = 0
        _ = c.handle(.tick(now: now))
        for expected: UInt64 in 42...45 {
            now += Self.interval
            XCTAssertEqual(c.handle(.tick(now: now)), [.injectBarrier(id: CheckpointID(expected))])
            complete(&c, id: CheckpointID(expected), now: now + 1)
        }
    }

    func testIntervalCountsFromPreviousCheckpointStart() {
        var c = makeCoordinator()
        _ = c.handle(.tick(now: 0))
        XCTAssertEqual(c.handle(.tick(now: Self.interval)), [.injectBarrier(id: 1)])
        complete(&c, id: 1, now: Self.interval + 10)
        XCTAssertEqual(c.handle(.tick(now: 2 * Self.interval - 1)), [])
        XCTAssertEqual(c.handle(.tick(now: 2 * Self.interval)), [.injectBarrier(id: 2)])
    }

    func testNilIntervalTicksNeverStartButManualTriggerDoes() {
        var c = makeCoordinator(interval: nil)
        for t: UInt64 in [0, 1, Self.interval, 1_000 * Self.interval] {
            XCTAssertEqual(c.handle(.tick(now: t)), [])
        }
        XCTAssertNil(c.inFlightID)
        XCTAssertEqual(c.handle(.trigger(.manual, now: 5)), [.injectBarrier(id: 1)])
        complete(&c, id: 1, now: 6)
        XCTAssertEqual(c.handle(.tick(now: 10_000 * Self.interval)), [])
        XCTAssertEqual(c.handle(.trigger(.savepoint(name: "sp"), now: 7)), [.injectBarrier(id: 2)])
    }

    // MARK: - Acknowledgements

    func testNothingHappensUntilEveryOperatorAcknowledged() {
        var c = makeCoordinator()
        XCTAssertEqual(c.handle(.trigger(.manual, now: 0)), [.injectBarrier(id: 1)])
        XCTAssertEqual(c.handle(.acknowledged(id: 1, operatorIndex: 2, state: [1], rows: 1)), [])
        XCTAssertEqual(c.handle(.acknowledged(id: 1, operatorIndex: 0, state: [2], rows: 1)), [])
        let actions = c.handle(.acknowledged(id: 1, operatorIndex: 1, state: [3], rows: 1))
        XCTAssertEqual(actions.count, 1)
        guard case .persist = actions.first else { return XCTFail("expected persist, got \(actions)") }
    }

    func testPersistManifestHasOperatorsInPipelineOrderWithKindAndPipeline() {
        var c = makeCoordinator(lastCheckpointID: 9)
        XCTAssertEqual(c.handle(.trigger(.manual, now: 0)), [.injectBarrier(id: 10)])
        // Acknowledged out of order: the manifest is still in pipeline order.
        XCTAssertEqual(c.handle(.acknowledged(id: 10, operatorIndex: 1, state: [0xBB], rows: 2), createdAtMilliseconds: 1), [])
        XCTAssertEqual(c.handle(.acknowledged(id: 10, operatorIndex: 2, state: [], rows: 3), createdAtMilliseconds: 2), [])
        let actions = c.handle(.acknowledged(id: 10, operatorIndex: 0, state: [0xAA, 0xAB], rows: 1),
                               createdAtMilliseconds: 1_700_000_000_000)
        let expected = CheckpointManifest(
            id: 10, pipeline: "orders", kind: .checkpoint, createdAtMilliseconds: 1_700_000_000_000,
            operators: [
                OperatorSnapshot(operatorName: "src", plugin: "kafka", state: [0xAA, 0xAB]),
                OperatorSnapshot(operatorName: "map", plugin: "passthrough", state: [0xBB]),
                OperatorSnapshot(operatorName: "sink", plugin: "file", state: []),
            ])
        XCTAssertEqual(actions, [.persist(expected)])
    }

    func testSavepointManifestHasSavepointKind() {
        var c = makeCoordinator()
        XCTAssertEqual(c.handle(.trigger(.savepoint(name: "before-upgrade"), now: 0)), [.injectBarrier(id: 1)])
        let actions = ackAll(&c, id: 1)
        guard actions.count == 1, case .persist(let manifest) = actions[0] else { return XCTFail("\(actions)") }
        XCTAssertEqual(manifest.kind, .savepoint(name: "before-upgrade"))
        XCTAssertEqual(manifest.pipeline, "orders")
        XCTAssertEqual(manifest.id, 1)
    }

    func testPeriodicAndFinalManifestsHaveCheckpointKind() {
        var c = makeCoordinator()
        _ = c.handle(.tick(now: 0))
        XCTAssertEqual(c.handle(.tick(now: Self.interval)), [.injectBarrier(id: 1)])
        guard case .persist(let m1)? = ackAll(&c, id: 1).first else { return XCTFail() }
        XCTAssertEqual(m1.kind, .checkpoint)
        _ = c.handle(.persisted(id: 1, now: Self.interval + 1))
        XCTAssertEqual(c.handle(.trigger(.final, now: Self.interval + 2)), [.injectBarrier(id: 2)])
        guard case .persist(let m2)? = ackAll(&c, id: 2).first else { return XCTFail() }
        XCTAssertEqual(m2.kind, .checkpoint)
    }

    func testDuplicateAcknowledgementIsIgnored() {
        var c = makeCoordinator()
        _ = c.handle(.trigger(.manual, now: 0))
        XCTAssertEqual(c.handle(.acknowledged(id: 1, operatorIndex: 0, state: [1], rows: 5)), [])
        // A duplicate (even with other state) neither counts as another operator nor replaces the first.
        XCTAssertEqual(c.handle(.acknowledged(id: 1, operatorIndex: 0, state: [9, 9], rows: 99)), [])
        XCTAssertEqual(c.handle(.acknowledged(id: 1, operatorIndex: 0, state: [9], rows: 99)), [])
        XCTAssertEqual(c.handle(.acknowledged(id: 1, operatorIndex: 1, state: [2], rows: 6)), [])
        let actions = c.handle(.acknowledged(id: 1, operatorIndex: 2, state: [3], rows: 7))
        guard actions.count == 1, case .persist(let manifest) = actions[0] else { return XCTFail("\(actions)") }
        XCTAssertEqual(manifest.operators.map(\.state), [[1], [2], [3]])
        // Acks after all acknowledged (while persisting) do nothing either.
        XCTAssertEqual(c.handle(.acknowledged(id: 1, operatorIndex: 0, state: [4], rows: 1)), [])
        guard case .notifyComplete(let done)? = c.handle(.persisted(id: 1, now: 10)).first else { return XCTFail() }
        XCTAssertEqual(done.rows, [5, 6, 7])
    }

    func testAcknowledgementForUnknownOperatorIndexIsIgnored() {
        var c = makeCoordinator()
        _ = c.handle(.trigger(.manual, now: 0))
        XCTAssertEqual(c.handle(.acknowledged(id: 1, operatorIndex: 3, state: [1], rows: 1)), [])
        XCTAssertEqual(c.handle(.acknowledged(id: 1, operatorIndex: -1, state: [1], rows: 1)), [])
        XCTAssertEqual(c.handle(.acknowledged(id: 1, operatorIndex: 0, state: [1], rows: 1)), [])
        XCTAssertEqual(c.handle(.acknowledged(id: 1, operatorIndex: 1, state: [1], rows: 1)), [])
        XCTAssertEqual(c.handle(.acknowledged(id: 1, operatorIndex: 99, state: [1], rows: 1)), [])
        XCTAssertEqual(c.inFlightID, 1)
        XCTAssertEqual(c.handle(.acknowledged(id: 1, operatorIndex: 2, state: [1], rows: 1)).count, 1)
    }

    func testAcknowledgementForOtherIDIsIgnored() {
        var c = makeCoordinator(lastCheckpointID: 4)
        _ = c.handle(.trigger(.manual, now: 0))  // id 5
        for stale: CheckpointID in [4, 6, 0] {
            for i in Self.operators.indices {
                XCTAssertEqual(c.handle(.acknowledged(id: stale, operatorIndex: i, state: [], rows: 0)), [])
            }
        }
        XCTAssertEqual(c.inFlightID, 5)
        XCTAssertEqual(ackAll(&c, id: 5).count, 1)
    }

    func testAcknowledgementWithNothingInFlightIsIgnored() {
        var c = makeCoordinator()
        XCTAssertEqual(c.handle(.acknowledged(id: 1, operatorIndex: 0, state: [], rows: 0)), [])
        XCTAssertEqual(c.handle(.persisted(id: 1, now: 0)), [])
        XCTAssertEqual(c.handle(.declined(id: 1, operatorIndex: 0, reason: "x")), [])
        XCTAssertEqual(c.handle(.persistFailed(id: 1, reason: "x")), [])
        XCTAssertNil(c.inFlightID)
    }

    // MARK: - Persisting and completion

    func testPersistedNotifiesCompleteWithStatsThenPrunes() {
        var c = makeCoordinator()
        _ = c.handle(.tick(now: 100))
        XCTAssertEqual(c.handle(.tick(now: 100 + Self.interval)), [.injectBarrier(id: 1)])
        let start = 100 + Self.interval
        ackAll(&c, id: 1, states: [[1, 2, 3], [], Array(repeating: 7, count: 1000)], rows: [10, 20, 0])
        let actions = c.handle(.persisted(id: 1, now: start + 1_234_567))
        let expected = Coordinator.CompletedCheckpoint(id: 1, trigger: .periodic, durationNanoseconds: 1_234_567,
                                                       stateBytes: 1003, rows: [10, 20, 0])
        XCTAssertEqual(actions, [.notifyComplete(expected), .prune])
        XCTAssertNil(c.inFlightID)
    }

    func testSavepointCompletionDoesNotPrune() {
        var c = makeCoordinator()
        XCTAssertEqual(c.handle(.trigger(.savepoint(name: "sp1"), now: 50)), [.injectBarrier(id: 1)])
        ackAll(&c, id: 1, states: [[1], [2], [3]], rows: [1, 2, 3])
        let actions = c.handle(.persisted(id: 1, now: 80))
        XCTAssertEqual(actions, [.notifyComplete(.init(id: 1, trigger: .savepoint(name: "sp1"), durationNanoseconds: 30,
                                                       stateBytes: 3, rows: [1, 2, 3]))])
        XCTAssertFalse(actions.contains(.prune))
    }

    func testManualAndFinalCompletionsPrune() {
        var c = makeCoordinator()
        _ = c.handle(.trigger(.manual, now: 0))
        XCTAssertEqual(complete(&c, id: 1, now: 1).last, .prune)
        _ = c.handle(.trigger(.final, now: 2))
        XCTAssertEqual(complete(&c, id: 2, now: 3).last, .prune)
    }

    func testNoCompletionBeforeManifestIsPersisted() {
        var c = makeCoordinator()
        _ = c.handle(.trigger(.manual, now: 0))
        // persisted before the persist action was issued (not all acknowledged) is ignored.
        XCTAssertEqual(c.handle(.acknowledged(id: 1, operatorIndex: 0, state: [], rows: 0)), [])
        XCTAssertEqual(c.handle(.persisted(id: 1, now: 1)), [])
        XCTAssertEqual(c.inFlightID, 1)
        let persist = ackAll(&c, id: 1)
        XCTAssertEqual(persist.count, 1)
        // Nothing else completes it: ticks, triggers, or a persisted for another id.
        XCTAssertEqual(c.handle(.tick(now: 2)), [])
        XCTAssertEqual(c.handle(.persisted(id: 2, now: 3)), [])
        XCTAssertEqual(c.inFlightID, 1)
        guard case .notifyComplete(let done)? = c.handle(.persisted(id: 1, now: 4)).first else { return XCTFail() }
        XCTAssertEqual(done.id, 1)
        // A second persisted for the same id does nothing.
        XCTAssertEqual(c.handle(.persisted(id: 1, now: 5)), [])
    }

    func testPersistFailedAbortsAndNextPeriodicCheckpointGetsNewID() {
        var c = makeCoordinator()
        _ = c.handle(.tick(now: 0))
        XCTAssertEqual(c.handle(.tick(now: Self.interval)), [.injectBarrier(id: 1)])
        XCTAssertEqual(ackAll(&c, id: 1).count, 1)
        let actions = c.handle(.persistFailed(id: 1, reason: "disk full"))
        XCTAssertEqual(actions.count, 1)
        guard case .notifyAborted(let id, let trigger, let reason) = actions[0] else { return XCTFail("\(actions)") }
        XCTAssertEqual(id, 1)
        XCTAssertEqual(trigger, .periodic)
        XCTAssertTrue(reason.contains("disk full"), reason)
        XCTAssertNil(c.inFlightID)
        // A late persisted for the aborted id is ignored.
        XCTAssertEqual(c.handle(.persisted(id: 1, now: Self.interval + 1)), [])
        XCTAssertEqual(c.handle(.tick(now: 2 * Self.interval)), [.injectBarrier(id: 2)])
    }

    // MARK: - Timeout and decline

    func testTimeoutAbortsWithAcknowledgedCountInReason() {
        var c = makeCoordinator()
        _ = c.handle(.trigger(.manual, now: 1_000))
        _ = c.handle(.acknowledged(id: 1, operatorIndex: 0, state: [], rows: 0))
        _ = c.handle(.acknowledged(id: 1, operatorIndex: 2, state: [], rows: 0))
        XCTAssertEqual(c.handle(.tick(now: 1_000 + Self.timeout)), [], "exactly the timeout is not yet late")
        let actions = c.handle(.tick(now: 1_000 + Self.timeout + 1))
        XCTAssertEqual(actions.count, 1)
        guard case .notifyAborted(let id, let trigger, let reason) = actions[0] else { return XCTFail("\(actions)") }
        XCTAssertEqual(id, 1)
        XCTAssertEqual(trigger, .manual)
        XCTAssertTrue(reason.contains("2 of 3"), reason)
        XCTAssertTrue(reason.contains("5000 ms"), reason)
        XCTAssertNil(c.inFlightID)
        // Late acknowledgements of the aborted checkpoint are ignored.
        XCTAssertEqual(c.handle(.acknowledged(id: 1, operatorIndex: 1, state: [], rows: 0)), [])
    }

    func testTimeoutWithNoAcknowledgementsSaysZero() {
        var c = makeCoordinator()
        _ = c.handle(.trigger(.manual, now: 0))
        let reason = abortedReason(c.handle(.tick(now: Self.timeout * 2)))
        XCTAssertNotNil(reason)
        XCTAssertTrue(reason?.contains("0 of 3") ?? false, reason ?? "")
    }

    func testNoTimeoutAbortWhilePersisting() {
        var c = makeCoordinator()
        _ = c.handle(.trigger(.manual, now: 0))
        XCTAssertEqual(ackAll(&c, id: 1).count, 1)
        XCTAssertEqual(c.handle(.tick(now: Self.timeout * 10)), [])
        XCTAssertEqual(c.inFlightID, 1)
        let actions = c.handle(.persisted(id: 1, now: Self.timeout * 11))
        guard case .notifyComplete(let done)? = actions.first else { return XCTFail("\(actions)") }
        XCTAssertEqual(done.durationNanoseconds, Self.timeout * 11)
    }

    func testDeclineAbortsWithOperatorName() {
        var c = makeCoordinator()
        _ = c.handle(.trigger(.savepoint(name: "sp"), now: 0))
        _ = c.handle(.acknowledged(id: 1, operatorIndex: 0, state: [], rows: 0))
        XCTAssertEqual(c.handle(.declined(id: 2, operatorIndex: 1, reason: "stale")), [], "other id ignored")
        let actions = c.handle(.declined(id: 1, operatorIndex: 1, reason: "state too large"))
        XCTAssertEqual(actions.count, 1)
        guard case .notifyAborted(let id, let trigger, let reason) = actions[0] else { return XCTFail("\(actions)") }
        XCTAssertEqual(id, 1)
        XCTAssertEqual(trigger, .savepoint(name: "sp"))
        XCTAssertTrue(reason.contains("'map'"), reason)
        XCTAssertTrue(reason.contains("state too large"), reason)
        XCTAssertNil(c.inFlightID)
    }

    /// Once every operator acknowledged, the manifest is being written and may become durable;
    /// a late decline must not abort it (as a timeout does not), or a checkpoint on disk would be
    /// reported as aborted and sinks would never commit it.
    func testDeclineWhilePersistingIsIgnored() {
        var c = makeCoordinator()
        _ = c.handle(.trigger(.manual, now: 0))
        XCTAssertEqual(ackAll(&c, id: 1).count, 1)
        XCTAssertEqual(c.handle(.declined(id: 1, operatorIndex: 0, reason: "late")), [])
        guard case .notifyComplete? = c.handle(.persisted(id: 1, now: 10)).first else {
            return XCTFail("a checkpoint whose manifest was persisted must complete")
        }
    }

    // MARK: - Triggers while in flight

    func testPeriodicTriggerWhileInFlightIsDropped() {
        var c = makeCoordinator(interval: nil)
        _ = c.handle(.trigger(.manual, now: 0))
        XCTAssertEqual(c.handle(.trigger(.periodic, now: 1)), [])
        XCTAssertEqual(complete(&c, id: 1, now: 2), [
            .notifyComplete(.init(id: 1, trigger: .manual, durationNanoseconds: 2, stateBytes: 3, rows: [0, 0, 0])),
            .prune,
        ])
        XCTAssertEqual(c.handle(.tick(now: 3)), [])
        XCTAssertNil(c.inFlightID)
    }

    func testPeriodicTickWhileInFlightDoesNotStartAnother() {
        var c = makeCoordinator()
        _ = c.handle(.tick(now: 0))
        XCTAssertEqual(c.handle(.tick(now: Self.interval)), [.injectBarrier(id: 1)])
        XCTAssertEqual(c.handle(.tick(now: 2 * Self.interval)), [])
        XCTAssertEqual(c.handle(.tick(now: 3 * Self.interval)), [])
        XCTAssertEqual(c.inFlightID, 1)
    }

    func testQueuedTriggersStartInOrderRightAfterCompletion() {
        var c = makeCoordinator()
        _ = c.handle(.trigger(.manual, now: 0))                          // 1
        XCTAssertEqual(c.handle(.trigger(.savepoint(name: "a"), now: 1)), [])
        XCTAssertEqual(c.handle(.trigger(.manual, now: 2)), [])
        XCTAssertEqual(c.handle(.trigger(.final, now: 3)), [])
        XCTAssertEqual(c.inFlightID, 1)

        var actions = complete(&c, id: 1, now: 10)
        XCTAssertEqual(actions.count, 3)
        guard case .notifyComplete(let d1)? = actions.first else { return XCTFail("\(actions)") }
        XCTAssertEqual(d1.id, 1)
        XCTAssertEqual(d1.trigger, .manual)
        XCTAssertEqual(actions[1], .prune)
        XCTAssertEqual(actions.last, .injectBarrier(id: 2))

        ackAll(&c, id: 2)
        actions = c.handle(.persisted(id: 2, now: 20))
        XCTAssertEqual(actions, [.notifyComplete(.init(id: 2, trigger: .savepoint(name: "a"), durationNanoseconds: 10,
                                                       stateBytes: 3, rows: [0, 0, 0])),
                                 .injectBarrier(id: 3)])

        actions = complete(&c, id: 3, now: 30)
        guard case .notifyComplete(let d3)? = actions.first else { return XCTFail() }
        XCTAssertEqual(d3.trigger, .manual)
        XCTAssertEqual(Array(actions.dropFirst()), [.prune, .injectBarrier(id: 4)])

        actions = complete(&c, id: 4, now: 40)
        guard case .notifyComplete(let d4)? = actions.first else { return XCTFail() }
        XCTAssertEqual(d4.trigger, .final)
        XCTAssertEqual(Array(actions.dropFirst()), [.prune])
        XCTAssertTrue(c.finished)
    }

    func testSameQueuedTriggerIsNotQueuedTwice() {
        var c = makeCoordinator(interval: nil)
        _ = c.handle(.trigger(.manual, now: 0))
        _ = c.handle(.trigger(.manual, now: 1))
        _ = c.handle(.trigger(.manual, now: 2))
        _ = c.handle(.trigger(.savepoint(name: "x"), now: 3))
        _ = c.handle(.trigger(.savepoint(name: "x"), now: 4))
        _ = c.handle(.trigger(.savepoint(name: "y"), now: 5))

        XCTAssertEqual(complete(&c, id: 1, now: 10).last, .injectBarrier(id: 2))   // manual
        XCTAssertEqual(complete(&c, id: 2, now: 11).last, .injectBarrier(id: 3))   // savepoint x
        XCTAssertEqual(c.handle(.trigger(.savepoint(name: "z"), now: 12)), [])
        XCTAssertEqual(complete(&c, id: 3, now: 13).last, .injectBarrier(id: 4))   // savepoint y
        XCTAssertEqual(complete(&c, id: 4, now: 14).last, .injectBarrier(id: 5))   // savepoint z
        let last = complete(&c, id: 5, now: 15)
        guard case .notifyComplete(let d)? = last.first else { return XCTFail() }
        XCTAssertEqual(d.trigger, .savepoint(name: "z"))
        XCTAssertEqual(last.count, 1, "nothing left in the queue")
        XCTAssertNil(c.inFlightID)
    }

    func testQueuedTriggerStartsAtNextTickAfterAbort() {
        var c = makeCoordinator()
        _ = c.handle(.trigger(.manual, now: 0))
        _ = c.handle(.trigger(.savepoint(name: "sp"), now: 1))
        let abort = c.handle(.declined(id: 1, operatorIndex: 2, reason: "no"))
        XCTAssertNotNil(abortedReason(abort))
        XCTAssertEqual(abort.count, 1, "the queued trigger does not start in the same action list as the abort")
        XCTAssertNil(c.inFlightID)
        XCTAssertEqual(c.handle(.tick(now: 2)), [.injectBarrier(id: 2)])
        guard case .persist(let m)? = ackAll(&c, id: 2).first else { return XCTFail() }
        XCTAssertEqual(m.kind, .savepoint(name: "sp"))
    }

    func testQueuedTriggerStartsAtTickAfterTimeoutAbort() {
        var c = makeCoordinator(interval: nil)
        _ = c.handle(.trigger(.manual, now: 0))
        _ = c.handle(.trigger(.final, now: 1))
        XCTAssertNotNil(abortedReason(c.handle(.tick(now: Self.timeout + 1))))
        XCTAssertEqual(c.handle(.tick(now: Self.timeout + 2)), [.injectBarrier(id: 2)])
        complete(&c, id: 2, now: Self.timeout + 3)
        XCTAssertTrue(c.finished)
    }

    /// Triggers queued behind an aborted checkpoint keep their order: a trigger that arrives
    /// after the abort but before the next tick must not jump ahead of them.
    func testTriggerAfterAbortDoesNotJumpQueuedTriggers() {
        var c = makeCoordinator(interval: nil)
        _ = c.handle(.trigger(.manual, now: 0))
        _ = c.handle(.trigger(.savepoint(name: "first"), now: 1))
        _ = c.handle(.persistFailed(id: 1, reason: "io"))
        let actions = c.handle(.trigger(.savepoint(name: "second"), now: 2))
        var started: [CheckpointCoordinator.Trigger] = []
        if actions == [.injectBarrier(id: 2)] {
            guard case .persist(let m)? = ackAll(&c, id: 2).first else { return XCTFail() }
            if case .savepoint(let n) = m.kind { started.append(.savepoint(name: n)) }
            _ = c.handle(.persisted(id: 2, now: 3))
        }
        _ = c.handle(.tick(now: 4))
        if let id = c.inFlightID, case .persist(let m)? = ackAll(&c, id: id).first, case .savepoint(let n) = m.kind {
            started.append(.savepoint(name: n))
            _ = c.handle(.persisted(id: id, now: 5))
        }
        _ = c.handle(.tick(now: 6))
        if let id = c.inFlightID, case .persist(let m)? = ackAll(&c, id: id).first, case .savepoint(let n) = m.kind {
            started.append(.savepoint(name: n))
        }
        XCTAssertEqual(started, [.savepoint(name: "first"), .savepoint(name: "second")])
    }

    // MARK: - Final

    func testFinalCompletionFinishesAndNothingStartsAfterwards() {
        var c = makeCoordinator()
        _ = c.handle(.tick(now: 0))
        XCTAssertEqual(c.handle(.trigger(.final, now: 1)), [.injectBarrier(id: 1)])
        XCTAssertFalse(c.finished)
        complete(&c, id: 1, now: 2)
        XCTAssertTrue(c.finished)
        XCTAssertEqual(c.handle(.tick(now: 100 * Self.interval)), [])
        XCTAssertEqual(c.handle(.trigger(.manual, now: 101 * Self.interval)), [])
        XCTAssertEqual(c.handle(.trigger(.savepoint(name: "s"), now: 102 * Self.interval)), [])
        XCTAssertEqual(c.handle(.trigger(.final, now: 103 * Self.interval)), [])
        XCTAssertEqual(c.handle(.trigger(.periodic, now: 104 * Self.interval)), [])
        XCTAssertNil(c.inFlightID)
    }

    func testTriggersQueuedBehindFinalAreDropped() {
        var c = makeCoordinator()
        _ = c.handle(.trigger(.final, now: 0))
        _ = c.handle(.trigger(.savepoint(name: "late"), now: 1))
        _ = c.handle(.trigger(.manual, now: 2))
        let actions = complete(&c, id: 1, now: 3)
        XCTAssertEqual(actions.count, 2)
        XCTAssertEqual(actions.last, .prune)
        XCTAssertTrue(c.finished)
        XCTAssertEqual(c.handle(.tick(now: 4)), [])
        XCTAssertNil(c.inFlightID)
    }

    func testAbortedFinalDoesNotFinish() {
        var c = makeCoordinator()
        _ = c.handle(.trigger(.final, now: 0))
        let actions = c.handle(.declined(id: 1, operatorIndex: 0, reason: "busy"))
        guard actions.count == 1, case .notifyAborted(1, .final, _) = actions[0] else { return XCTFail("\(actions)") }
        XCTAssertFalse(c.finished)
        // The host may retry.
        XCTAssertEqual(c.handle(.trigger(.final, now: 1)), [.injectBarrier(id: 2)])
    }
}
