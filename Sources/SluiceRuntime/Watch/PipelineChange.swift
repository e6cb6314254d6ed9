import SluiceCore

/// What differs between two versions of a pipeline file, for `sluice run --watch`.
enum PipelineChange: Equatable {
    case nothing
    /// Only the main sink: swapped while the pipeline runs.
    case sinkOnly
    /// Anything else: the worker restarts from a savepoint. Names what changed.
    case restartNeeded([String])

    static func between(_ old: PipelineSpec, _ new: PipelineSpec) -> PipelineChange {
        func same(_ a: OperatorSpec?, _ b: OperatorSpec?) -> Bool {
            a?.name == b?.name && a?.plugin == b?.plugin && a?.configJSON == b?.configJSON
        }
        var changed: [String] = []
        if old.name != new.name { changed.append("name") }
        if !same(old.source, new.source) { changed.append("source") }
        if old.transforms.count != new.transforms.count || !zip(old.transforms, new.transforms).allSatisfy({ same($0, $1) }) {
            changed.append("transforms")
        }
        if !same(old.deadLetter, new.deadLetter) { changed.append("dead_letter") }
        let (c1, c2) = (old.checkpointing, new.checkpointing)
        if c1.interval != c2.interval || c1.directory != c2.directory || c1.retained != c2.retained || c1.mode != c2.mode || c1.timeout != c2.timeout {
            changed.append("checkpointing")
        }
        let (r1, r2) = (old.restart, new.restart)
        if r1.initialDelay != r2.initialDelay || r1.maxDelay != r2.maxDelay || r1.multiplier != r2.multiplier
            || r1.maxRestarts != r2.maxRestarts || r1.resetAfter != r2.resetAfter {
            changed.append("restart")
        }
        if old.queueCapacity != new.queueCapacity { changed.append("queue_capacity") }
        if old.chainTransforms != new.chainTransforms { changed.append("chain_transforms") }
        // A rescale: the worker restarts from the stop's savepoint in the new layout.
        if old.parallelism != new.parallelism { changed.append("parallelism") }
        if old.admin != new.admin { changed.append("admin") }
        if old.statusInterval != new.statusInterval { changed.append("status_interval") }
        if !changed.isEmpty { return .restartNeeded(changed) }
        if same(old.sink, new.sink) { return .nothing }
        // A sink swap needs one lane; with several the worker restarts with the new sink.
        return old.parallelism == 1 ? .sinkOnly : .restartNeeded(["sink (with \(old.parallelism) lanes)"])
    }
}
