/// What each operator of a worker restores: from a checkpoint of its own layout, its own
/// state; through a rescale, every old lane's source state (each source keeps the share it now
/// owns) and nothing else. Pure; the worker reads the manifests and passes them in.
public struct RestorePlan: Equatable, Sendable {
    public struct State: Equatable, Sendable {
        public var checkpoint: UInt64
        public var state: [UInt8]
        public init(checkpoint: UInt64, state: [UInt8]) {
            self.checkpoint = checkpoint
            self.state = state
        }
    }

    /// Indexed by operator index of the worker's topology.
    public var states: [[State]]
    /// Things to tell the user that do not stop the start.
    public var warnings: [String] = []

    public init(states: [[State]], warnings: [String] = []) {
        self.states = states
        self.warnings = warnings
    }

    /// Nothing to restore, for `operatorCount` operators.
    public static func fresh(operatorCount: Int) -> RestorePlan {
        RestorePlan(states: Array(repeating: [], count: operatorCount))
    }

    /// A resume from `manifest`, which the same layout wrote. `plugins`: each chain position's
    /// plugin name, so state of a plugin that no longer runs there is left out.
    public static func resume(_ manifest: CheckpointManifest, topology: PipelineTopology, plugins: [String]) throws -> RestorePlan {
        guard manifest.layout == topology.layout else {
            throw RestoreProblem(description: "checkpoint \(manifest.id) was written by \(manifest.layout), but this run is \(topology.layout)")
        }
        var plan = RestorePlan(states: Array(repeating: [], count: topology.operatorCount))
        let byName = Dictionary(manifest.operators.map { ($0.operatorName, $0) }, uniquingKeysWith: { first, _ in first })
        for index in 0..<topology.operatorCount {
            let name = topology.checkpointName(of: index)
            guard let snapshot = byName[name] else { continue }
            let plugin = plugins[topology.position(of: index)]
            guard snapshot.plugin == plugin else {
                plan.warnings.append("checkpoint \(manifest.id) holds state of plugin '\(snapshot.plugin)' for operator '\(name)', which now runs '\(plugin)'; it starts without state")
                continue
            }
            plan.states[index] = [State(checkpoint: manifest.id, state: snapshot.state)]
        }
        let known = Set((0..<topology.operatorCount).map(topology.checkpointName(of:)))
        for snapshot in manifest.operators where !known.contains(snapshot.operatorName) {
            plan.warnings.append("checkpoint \(manifest.id) has state for operator '\(snapshot.operatorName)', which this pipeline no longer has; ignoring it")
        }
        return plan
    }

    /// A start of another layout from savepoint `name` of every instance of the old one.
    /// Refused unless the savepoints cover every old instance of one layout, each was taken
    /// by a stop whose sealed epochs were all committed, and no transform holds state.
    public static func rescale(from savepoints: [CheckpointManifest], name: String, topology: PipelineTopology,
                               plugins: [String], pipeline: String) throws -> RestorePlan {
        let how = "stop every instance of the old layout with `sluice stop --savepoint \(name)` and start every instance of the new one with `--from-savepoint \(name)`"
        guard let first = savepoints.first else {
            throw RestoreProblem(description: "no savepoint '\(name)' was found for any instance; \(how)")
        }
        let old = first.layout
        if let other = savepoints.first(where: { !$0.layout.hasSameShape(as: old) }) {
            throw RestoreProblem(description: "savepoints '\(name)' come from different layouts (\(old.shape) and \(other.layout.shape), instances x lanes); use a savepoint name taken by one layout: \(how)")
        }
        if let other = savepoints.first(where: { $0.pipeline != pipeline }) {
            throw RestoreProblem(description: "savepoint '\(name)' of instance \(other.layout.instance) belongs to pipeline '\(other.pipeline)', not '\(pipeline)'")
        }
        let found = Set(savepoints.map(\.layout.instance))
        let missing = (0..<old.instances).filter { !found.contains($0) }
        guard missing.isEmpty, savepoints.count == old.instances else {
            let list = missing.map(String.init).joined(separator: ", ")
            throw RestoreProblem(description: "savepoint '\(name)' covers \(found.count) of the \(old.instances) instances of the old layout (\(old.shape)); missing: instance \(list.isEmpty ? "duplicates" : list). A layout changes only from a savepoint of every old instance: \(how)")
        }
        if let uncommitted = savepoints.first(where: { !$0.epochsCommitted }) {
            throw RestoreProblem(description: "savepoint '\(name)' of instance \(uncommitted.layout.instance) was not taken by a stop that committed every sealed epoch (a savepoint taken while running, or a stop that failed), so its sinks may hold rows a rescale would lose. Start the old layout (\(old.shape)) from it, then \(how)")
        }
        let sourceName = topology.operatorNames[topology.source]
        var sourceStates: [State] = []
        for savepoint in savepoints.sorted(by: { $0.layout.instance < $1.layout.instance }) {
            let byName = Dictionary(savepoint.operators.map { ($0.operatorName, $0) }, uniquingKeysWith: { first, _ in first })
            for lane in savepoint.layout.lanes {
                let entry = PipelineTopology.checkpointName(sourceName, globalLane: lane, laneCount: old.laneCount)
                guard let snapshot = byName[entry] else {
                    throw RestoreProblem(description: "savepoint '\(name)' of instance \(savepoint.layout.instance) has no state for source '\(entry)'; the source must keep its name across a rescale")
                }
                guard snapshot.plugin == plugins[topology.source] else {
                    throw RestoreProblem(description: "savepoint '\(name)' holds state of plugin '\(snapshot.plugin)' for the source, which now runs '\(plugins[topology.source])'; a rescale keeps the source plugin")
                }
                sourceStates.append(State(checkpoint: savepoint.id, state: snapshot.state))
            }
            for position in topology.transforms {
                for lane in savepoint.layout.lanes {
                    let entry = PipelineTopology.checkpointName(topology.operatorNames[position], globalLane: lane, laneCount: old.laneCount)
                    if let snapshot = byName[entry], !snapshot.state.isEmpty {
                        throw RestoreProblem(description: "transform '\(entry)' holds \(snapshot.state.count) bytes of state in savepoint '\(name)'; state of a transform cannot be redistributed over lanes, so this pipeline can only resume in its old layout (\(old.shape))")
                    }
                }
            }
        }
        var plan = RestorePlan(states: Array(repeating: [], count: topology.operatorCount))
        for index in topology.sources { plan.states[index] = sourceStates }
        plan.warnings.append("rescaling from savepoint '\(name)' of layout \(old.shape) (instances x lanes) to \(topology.layout.shape): every source lane is offered the positions of all \(sourceStates.count) old lanes and keeps those of the input it now owns; sinks start empty, since the stop committed all they had sealed")
        return plan
    }
}

public struct RestoreProblem: Error, Equatable, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}
