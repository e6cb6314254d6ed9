import XCTest
@testable import SluiceCore

/// Instances, lanes, and what each operator restores in a layout.
final class LayoutTests: XCTestCase {
    // MARK: - Identity

    func testTheFlagTheVariableAndThePodName() throws {
        XCTAssertTrue(try InstanceIdentity.resolve(flag: nil, environment: [:]) == (0, 1))
        XCTAssertTrue(try InstanceIdentity.resolve(flag: "2/3", environment: ["SLUICE_INSTANCE": "0/1"]) == (2, 3))
        XCTAssertTrue(try InstanceIdentity.resolve(flag: nil, environment: ["SLUICE_INSTANCE": "1/4"]) == (1, 4))
        XCTAssertTrue(try InstanceIdentity.resolve(flag: nil, environment: ["SLUICE_INSTANCES": "3", "SLUICE_POD_NAME": "sluice-sensors-2"]) == (2, 3))
        XCTAssertTrue(try InstanceIdentity.resolve(flag: nil, environment: ["SLUICE_INSTANCES": "3", "HOSTNAME": "sluice-1"]) == (1, 3))
    }

    func testBadIdentitiesSayWhatIsWrong() {
        XCTAssertThrowsError(try InstanceIdentity.resolve(flag: "3/3", environment: [:])) {
            XCTAssertTrue("\($0)".contains("from 0 to N-1"), "\($0)")
        }
        XCTAssertThrowsError(try InstanceIdentity.resolve(flag: "one", environment: [:])) {
            XCTAssertTrue("\($0)".contains("is not I/N"), "\($0)")
        }
        XCTAssertThrowsError(try InstanceIdentity.resolve(flag: nil, environment: ["SLUICE_INSTANCES": "3", "HOSTNAME": "worker"])) {
            XCTAssertTrue("\($0)".contains("not a StatefulSet pod name"), "\($0)")
        }
        XCTAssertThrowsError(try InstanceIdentity.resolve(flag: nil, environment: ["SLUICE_INSTANCES": "2", "SLUICE_POD_NAME": "sluice-2"])) {
            XCTAssertTrue("\($0)".contains("make SLUICE_INSTANCES equal the StatefulSet's replicas"), "\($0)")
        }
    }

    // MARK: - Lanes

    func testInstanceIRunsLanesIPToIPPlusP() {
        let layout = PipelineLayout(instance: 1, instances: 3, parallelism: 2)
        XCTAssertEqual(layout.laneCount, 6)
        XCTAssertEqual(layout.lanes, 2..<4)
        XCTAssertEqual(layout.description, "instance 1 of 3, 2 lanes each (lanes 2-3 of 6)")
        let topology = PipelineTopology(operatorNames: ["source", "parse", "sink", "dlq"], transformCount: 1, hasDeadLetterSink: true, layout: layout)
        XCTAssertEqual(topology.operatorCount, 8)
        XCTAssertEqual(topology.sources, [0, 4])
        XCTAssertEqual(topology.sinks, [2, 6])
        XCTAssertEqual(topology.deadLetterSinks, [3, 7])
        XCTAssertEqual((0..<8).map(topology.downstream(of:)), [1, 2, nil, nil, 5, 6, nil, nil])
        XCTAssertEqual(topology.deadLetterSink(of: 5), 7)
        XCTAssertEqual(topology.checkpointName(of: 5), "parse@3")
        XCTAssertEqual(topology.displayName(of: 4), "source (lane 3)")
        // One lane in all: the names checkpoints had before lanes.
        let single = PipelineTopology(operatorNames: ["source", "sink"], transformCount: 0, hasDeadLetterSink: false)
        XCTAssertEqual(single.checkpointName(of: 1), "sink")
    }

    // MARK: - Restore plans

    private let names = ["source", "parse", "sink"]
    private let plugins = ["pulsar-source", "sensor-parser", "clickhouse-sink"]

    private func savepoint(_ instance: Int, of instances: Int, parallelism: Int, committed: Bool = true,
                           parseState: [UInt8] = []) -> CheckpointManifest {
        let layout = PipelineLayout(instance: instance, instances: instances, parallelism: parallelism)
        let topology = PipelineTopology(operatorNames: names, transformCount: 1, hasDeadLetterSink: false, layout: layout)
        let snapshots = (0..<topology.operatorCount).map { index -> OperatorSnapshot in
            let position = topology.position(of: index)
            let state: [UInt8] = position == 0 ? [UInt8(topology.globalLane(of: index))] : position == 1 ? parseState : [0xEE]
            return OperatorSnapshot(operatorName: topology.checkpointName(of: index), plugin: plugins[position], state: state)
        }
        return CheckpointManifest(id: UInt64(10 + instance), pipeline: "p", kind: .savepoint(name: "r"), createdAtMilliseconds: 0,
                                  operators: snapshots, layout: layout, epochsCommitted: committed)
    }

    private func topology(_ instance: Int, of instances: Int, parallelism: Int) -> PipelineTopology {
        PipelineTopology(operatorNames: names, transformCount: 1, hasDeadLetterSink: false,
                         layout: PipelineLayout(instance: instance, instances: instances, parallelism: parallelism))
    }

    func testAResumeGivesEachLaneItsOwnState() throws {
        let manifest = savepoint(1, of: 2, parallelism: 2)
        let plan = try RestorePlan.resume(manifest, topology: topology(1, of: 2, parallelism: 2), plugins: plugins)
        XCTAssertEqual(plan.states[0].map(\.state), [[2]])
        XCTAssertEqual(plan.states[3].map(\.state), [[3]])
        XCTAssertEqual(plan.states[2].map(\.state), [[0xEE]])
        XCTAssertThrowsError(try RestorePlan.resume(manifest, topology: topology(0, of: 2, parallelism: 2), plugins: plugins)) {
            XCTAssertTrue("\($0)".contains("was written by instance 1 of 2"), "\($0)")
        }
    }

    func testARescaleOffersEverySourceEveryOldLaneAndSinksNothing() throws {
        let old = (0..<3).map { savepoint($0, of: 3, parallelism: 2) }
        let plan = try RestorePlan.rescale(from: old.shuffled(), name: "r", topology: topology(1, of: 2, parallelism: 1), plugins: plugins, pipeline: "p")
        XCTAssertEqual(plan.states[0].map(\.state), [[0], [1], [2], [3], [4], [5]])
        XCTAssertEqual(plan.states[0].map(\.checkpoint), [10, 10, 11, 11, 12, 12])
        XCTAssertEqual(plan.states[1], [])
        XCTAssertEqual(plan.states[2], [], "the stop committed every sealed epoch: sinks start empty")
    }

    func testARescaleIsRefusedWithoutEveryInstanceOrCommittedEpochs() {
        let target = topology(0, of: 2, parallelism: 1)
        XCTAssertThrowsError(try RestorePlan.rescale(from: [savepoint(0, of: 3, parallelism: 2), savepoint(2, of: 3, parallelism: 2)],
                                                     name: "r", topology: target, plugins: plugins, pipeline: "p")) {
            XCTAssertTrue("\($0)".contains("covers 2 of the 3 instances") && "\($0)".contains("missing: instance 1"), "\($0)")
        }
        XCTAssertThrowsError(try RestorePlan.rescale(from: [savepoint(0, of: 1, parallelism: 2, committed: false)],
                                                     name: "r", topology: target, plugins: plugins, pipeline: "p")) {
            XCTAssertTrue("\($0)".contains("was not taken by a stop that committed every sealed epoch"), "\($0)")
        }
        XCTAssertThrowsError(try RestorePlan.rescale(from: [savepoint(0, of: 2, parallelism: 1), savepoint(1, of: 3, parallelism: 1)],
                                                     name: "r", topology: target, plugins: plugins, pipeline: "p")) {
            XCTAssertTrue("\($0)".contains("different layouts"), "\($0)")
        }
        XCTAssertThrowsError(try RestorePlan.rescale(from: [savepoint(0, of: 1, parallelism: 1, parseState: [1])],
                                                     name: "r", topology: target, plugins: plugins, pipeline: "p")) {
            XCTAssertTrue("\($0)".contains("transform 'parse' holds 1 bytes of state"), "\($0)")
        }
        XCTAssertThrowsError(try RestorePlan.rescale(from: [], name: "r", topology: target, plugins: plugins, pipeline: "p"))
    }

    // MARK: - The worker's machine with lanes

    func testTheFinalCheckpointWaitsForEveryLanesSourceAndSwapsNeedOneLane() {
        let topology = topology(0, of: 1, parallelism: 2)
        var machine = WorkerStateMachine(
            topology: topology,
            coordinator: CheckpointCoordinator(configuration: .init(pipeline: "p", operators: (0..<topology.operatorCount).map { (topology.checkpointName(of: $0), "x") },
                                                                    intervalNanoseconds: nil, timeoutNanoseconds: 1_000_000_000, layout: topology.layout),
                                               lastCheckpointID: 0),
            restored: nil)
        for index in 0..<topology.operatorCount { _ = machine.handle(.operatorReady(index: index)) }
        XCTAssertTrue(machine.isRunning)
        XCTAssertEqual(machine.handle(.sourceEnded(now: 1)), [], "one lane's source ended: the other still reads")
        XCTAssertTrue(machine.handle(.sourceEnded(now: 2)).contains(.injectBarrier(1)))
        var other = WorkerStateMachine(topology: topology, coordinator: machine.coordinator, restored: nil)
        let refused = other.handle(.swapRequested(7))
        guard case .reply(7, .refused(.conflict, let message))? = refused.first else { return XCTFail("\(refused)") }
        XCTAssertTrue(message.contains("needs parallelism 1"), message)
    }
}
