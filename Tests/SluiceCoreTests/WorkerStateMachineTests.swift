import XCTest
@testable import SluiceCore

/// The worker's decisions, without threads, files or processes: events in, actions out.
final class WorkerStateMachineTests: XCTestCase {
    typealias Machine = WorkerStateMachine
    typealias Action = WorkerStateMachine.Action

    /// source -> parse -> sink, and a dead-letter sink: four operators, the main sink at 2.
    private let topology = PipelineTopology(operatorNames: ["source", "parse", "sink", "dead-letters"], transformCount: 1, hasDeadLetterSink: true)
    private var machine: Machine!
    private var log: [Action] = []

    override func setUp() {
        let coordinator = CheckpointCoordinator(
            configuration: .init(pipeline: "p", operators: topology.operatorNames.map { ($0, $0 + "-plugin") },
                                 intervalNanoseconds: nil, timeoutNanoseconds: 10_000_000_000),
            lastCheckpointID: 0)
        machine = Machine(topology: topology, coordinator: coordinator, restored: nil)
        log = []
    }

    @discardableResult
    private func send(_ event: Machine.Event) -> [Action] {
        let actions = machine.handle(event)
        log += actions
        return actions
    }

    private func startAll() {
        for index in 0..<topology.operatorCount { send(.operatorReady(index: index)) }
    }

    /// Every operator acknowledges `id`; returns the actions of the last acknowledgement.
    @discardableResult
    private func acknowledgeAll(_ id: CheckpointID, rows: Int = 1) -> [Action] {
        var last: [Action] = []
        for index in 0..<topology.operatorCount {
            last = send(.acknowledged(id, operatorIndex: index, state: [UInt8(index)], rows: rows, wallClockMilliseconds: 0))
        }
        return last
    }

    /// Runs checkpoint `id` to completion; returns the actions of its persisted event.
    @discardableResult
    private func complete(_ id: CheckpointID, now: UInt64 = 2) -> [Action] {
        let persist = acknowledgeAll(id)
        XCTAssertTrue(persist.contains { if case .persist(let m) = $0 { return m.id == id.rawValue }; return false }, "\(persist)")
        return send(.persisted(id, now: now))
    }

    private func replies(_ actions: [Action]) -> [Machine.RequestID: Machine.Reply] {
        var out: [Machine.RequestID: Machine.Reply] = [:]
        for case .reply(let id, let reply) in actions { out[id] = reply }
        return out
    }

    // MARK: - Starting and stopping

    func testThePipelineRunsOnceEveryOperatorIsReady() {
        XCTAssertEqual(machine.phase, .starting)
        for index in 0..<3 { XCTAssertEqual(send(.operatorReady(index: index)), []) }
        XCTAssertFalse(machine.isRunning)
        XCTAssertEqual(send(.operatorReady(index: 3)), [.phaseChanged(.running), .announceRunning])
        XCTAssertTrue(machine.isRunning)
    }

    func testAStopSignalStopsTheSourceTakesAFinalCheckpointAndFinishesWhenEveryThreadEnded() {
        startAll()
        let stop = send(.stopSignal(name: "SIGTERM", now: 1))
        XCTAssertEqual(stop, [.phaseChanged(.stopping), .log(.info, "received SIGTERM: stopping the source and taking a final checkpoint"),
                              .stopSource, .injectBarrier(1)])
        XCTAssertEqual(send(.stopSignal(name: "SIGINT", now: 1)), [], "a second signal changes nothing")
        let done = complete(1)
        XCTAssertTrue(done.contains(.shutdownOperators), "\(done)")
        for index in 0..<3 { XCTAssertEqual(send(.operatorStopped(index: index)), []) }
        XCTAssertEqual(send(.operatorStopped(index: 3)), [.finish(.finished)])
        XCTAssertEqual(send(.tick(now: 99)), [], "nothing happens after the outcome")
    }

    func testAnAbortedFinalCheckpointFailsTheWorker() {
        startAll()
        send(.sourceEnded(now: 1))
        XCTAssertEqual(machine.phase, .stopping)
        let declined = send(.declined(1, operatorIndex: 2, reason: "disk full"))
        XCTAssertEqual(declined.first, .notifyAborted(1, reason: "operator 'sink' declined: disk full"))
        guard case .finish(.failed(let reason)) = declined.last else { return XCTFail("\(declined)") }
        XCTAssertTrue(reason.contains("the final checkpoint could not be completed"), reason)
    }

    func testAPermanentOperatorFailureIsAMisconfigurationNamingTheOperator() {
        XCTAssertEqual(send(.operatorFailed(index: 2, message: "no column x", permanent: true)),
                       [.finish(.misconfigured("operator 'sink' failed: no column x"))])
        setUp()
        XCTAssertEqual(send(.operatorFailed(index: 0, message: "broker gone", permanent: false)),
                       [.finish(.failed("operator 'source' failed: broker gone"))])
    }

    // MARK: - Checkpoints and admin requests

    func testACompletedCheckpointIsNotifiedPrunedAndAnswersTheRequestWaitingForIt() {
        startAll()
        XCTAssertEqual(send(.checkpointRequested(7, now: 1)), [.injectBarrier(1)])
        let done = complete(1, now: 5)
        guard case .notifyComplete(let completed) = done.first else { return XCTFail("\(done)") }
        XCTAssertEqual(completed.id, 1)
        XCTAssertEqual(completed.rows, [1, 1, 1, 1])
        XCTAssertEqual(replies(done), [7: .checkpointCompleted(completed)])
        XCTAssertTrue(done.contains(.prune))
        XCTAssertEqual(machine.lastCompleted, 1)
    }

    func testEachRequestIsAnsweredByTheCheckpointThatStartedAfterIt() {
        startAll()
        send(.checkpointRequested(1, now: 1))
        send(.checkpointRequested(2, now: 1))  // checkpoint 1 is in flight: request 2 waits for the next
        let aborted = send(.declined(1, operatorIndex: 1, reason: "busy"))
        XCTAssertEqual(replies(aborted), [1: .refused(.unavailable, "the checkpoint was aborted: operator 'parse' declined: busy")])
        XCTAssertEqual(send(.tick(now: 2)), [.injectBarrier(2)], "the queued request's checkpoint starts")
        send(.checkpointRequested(3, now: 2))
        let done = complete(2)
        guard case .checkpointCompleted(let completed)? = replies(done)[2] else { return XCTFail("\(done)") }
        XCTAssertEqual(completed.id, 2)
        XCTAssertEqual(replies(done).keys.sorted(), [2], "request 3 came while checkpoint 2 was in flight")
        XCTAssertEqual(replies(send(.tick(now: 3))), [:])
        XCTAssertEqual(replies(complete(3)).keys.sorted(), [3])
    }

    func testSavepointRequestsAreCheckedAndAdminRequestsAreRefusedWhileStopping() {
        startAll()
        let unsafe = send(.savepointRequested(1, name: "../x", alreadyExists: false, now: 1))
        if case .reply(1, .refused(.badRequest, _))? = unsafe.first, unsafe.count == 1 {} else { XCTFail("\(unsafe)") }
        XCTAssertEqual(send(.savepointRequested(2, name: "before-upgrade", alreadyExists: true, now: 1)),
                       [.reply(2, .refused(.conflict, "savepoint 'before-upgrade' already exists"))])
        XCTAssertEqual(send(.savepointRequested(3, name: "ok", alreadyExists: false, now: 1)), [.injectBarrier(1)])

        let stop = send(.stopRequested(4, savepoint: "last", now: 2))
        XCTAssertTrue(stop.contains(.stopSource))
        XCTAssertEqual(machine.phase, .stopping)
        for request in [5, 6, 7] {
            let refused: [Action]
            switch request {
            case 5: refused = send(.checkpointRequested(5, now: 3))
            case 6: refused = send(.swapRequested(6))
            default: refused = send(.stopRequested(7, savepoint: nil, now: 3))
            }
            XCTAssertEqual(refused, [.reply(request, .refused(.unavailable, "the pipeline is stopping"))])
        }
        // The savepoint completes first, then the final savepoint the stop asked for.
        XCTAssertEqual(replies(complete(1)).keys.sorted(), [3])
        send(.tick(now: 4))
        let final = complete(2)
        guard case .checkpointCompleted(let completed)? = replies(final)[4] else { return XCTFail("\(final)") }
        XCTAssertEqual(completed.trigger, .finalSavepoint(name: "last"))
        XCTAssertTrue(final.contains(.shutdownOperators), "\(final)")
    }

    // MARK: - Sink swap

    /// Takes a swap to the point where the new sink is open and the sink was asked to pause.
    private func openSwap(request: Machine.RequestID = 1) {
        XCTAssertEqual(send(.swapRequested(request)), [.validateSwap(request)])
        XCTAssertEqual(send(.swapAccepted), [.phaseChanged(.swapping)])
        XCTAssertEqual(machine.phase, .swapping)
        let opened = send(.swapOpened(now: 10))
        XCTAssertEqual(opened, [.log(.info, "the new sink is open; switching to it at the next checkpoint"), .pauseSink, .injectBarrier(1)])
    }

    func testASwapPausesTheSinkAtTheNextBarrierSwitchesWhenItsCheckpointCompletesAndRecordsTheStall() {
        startAll()
        openSwap()
        XCTAssertEqual(send(.sinkPaused(1, at: 20)), [], "the barrier's checkpoint is not complete yet")
        let done = complete(1, now: 25)
        XCTAssertTrue(done.contains(.switchSink), "\(done)")
        XCTAssertEqual(send(.sinkCommitted(at: 30)), [])
        let swapped = send(.sinkSwapped(at: 32))
        XCTAssertEqual(swapped, [.phaseChanged(.running),
                                 .recordSwap(1, .init(barrier: 1, pausedNanoseconds: 12, stallBeyondCommitNanoseconds: 2))])
        XCTAssertEqual(send(.swapRecorded(plugin: "file-sink")), [])
        // The next checkpoint names the new plugin for the sink's state.
        send(.checkpointRequested(2, now: 40))
        let persist = acknowledgeAll(2)
        guard case .persist(let manifest) = persist.first else { return XCTFail("\(persist)") }
        XCTAssertEqual(manifest.operators[topology.sink].plugin, "file-sink")
        XCTAssertEqual(manifest.operators[topology.source].plugin, "source-plugin")
    }

    func testASinkThatPausesAfterItsCheckpointCompletedSwitchesAtOnce() {
        startAll()
        openSwap()
        let done = complete(1)
        XCTAssertFalse(done.contains(.switchSink), "the sink has not paused yet")
        XCTAssertEqual(send(.sinkPaused(1, at: 20)), [.switchSink])
        XCTAssertEqual(send(.sinkPaused(1, at: 21)), [], "switched once")
    }

    func testASecondSwapIsRefusedAndAFailedOpenChangesNothing() {
        startAll()
        send(.swapRequested(1))
        XCTAssertEqual(send(.swapRequested(2)), [.reply(2, .refused(.conflict, "a sink swap is already under way"))])
        send(.swapAccepted)
        let failed = send(.swapOpenFailed("connection refused"))
        XCTAssertEqual(failed, [.log(.error, "the new sink failed to open (connection refused); nothing changed, the old sink goes on"),
                                .phaseChanged(.running),
                                .reply(1, .refused(.unprocessable, "the new sink failed to open: connection refused; nothing changed, the old sink goes on"))])
        XCTAssertFalse(machine.swapUnderWay)
        XCTAssertEqual(send(.swapOpened(now: 5)), [.discardNewSink], "a sink opened for no swap is discarded")
    }

    func testARejectedSwapIsAnsweredAndTheNextOneMayStart() {
        startAll()
        send(.swapRequested(1))
        XCTAssertEqual(send(.swapRejected(.badRequest, "plugin 'nope' not found")), [.reply(1, .refused(.badRequest, "plugin 'nope' not found"))])
        XCTAssertEqual(machine.phase, .running)
        XCTAssertEqual(send(.swapRequested(2)), [.validateSwap(2)])
    }

    func testWhenTheSwapsCheckpointAbortsTheOldSinkGoesOn() {
        startAll()
        openSwap()
        send(.sinkPaused(1, at: 20))
        let aborted = send(.declined(1, operatorIndex: 0, reason: "slow"))
        XCTAssertEqual(aborted, [.notifyAborted(1, reason: "operator 'source' declined: slow"), .resumeSink, .discardNewSink,
                                 .reply(1, .refused(.unavailable, "checkpoint 1 was aborted (operator 'source' declined: slow); the sink was not swapped and the old one goes on")),
                                 .phaseChanged(.running)])
        XCTAssertFalse(machine.swapUnderWay)
    }

    func testAnAbortBeforeTheSinkPausedAsksForAnotherCheckpoint() {
        startAll()
        openSwap()
        let aborted = send(.declined(1, operatorIndex: 1, reason: "slow"))
        XCTAssertEqual(aborted, [.notifyAborted(1, reason: "operator 'parse' declined: slow"), .injectBarrier(2)])
        XCTAssertEqual(send(.sinkPaused(2, at: 30)), [])
        XCTAssertTrue(complete(2).contains(.switchSink))
    }

    func testAFailureToRecordTheSwapFailsTheWorker() {
        startAll()
        openSwap()
        send(.sinkPaused(1, at: 20))
        complete(1)
        send(.sinkSwapped(at: 30))
        guard case .finish(.failed(let reason))? = send(.swapRecordFailed("read-only file system")).first else { return XCTFail("\(log)") }
        XCTAssertTrue(reason.contains("restarting with the old sink"), reason)
    }

    // MARK: - Topology

    func testTheTopologyNamesEachOperatorsPlace() {
        XCTAssertEqual(topology.source, 0)
        XCTAssertEqual(topology.transforms, 1..<2)
        XCTAssertEqual(topology.sink, 2)
        XCTAssertEqual(topology.deadLetterSink, 3)
        XCTAssertEqual([0, 1, 2, 3].map(topology.downstream(of:)), [1, 2, nil, nil])
        let bare = PipelineTopology(operatorNames: ["s", "k"], transformCount: 0, hasDeadLetterSink: false)
        XCTAssertEqual(bare.sink, 1)
        XCTAssertNil(bare.deadLetterSink)
        XCTAssertEqual(bare.downstream(of: 0), 1)
    }
}
