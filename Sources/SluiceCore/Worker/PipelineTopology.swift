/// Where each operator of a worker stands. A lane is one whole chain: the source, the
/// transforms in order, the main sink, then the dead-letter sink if there is one. A worker runs
/// `layout.parallelism` lanes; its operators are numbered lane after lane, so operator `index`
/// is position `index % chainLength` of local lane `index / chainLength`. Rows flow down the
/// main chain of their lane; rejected rows go from any operator to their lane's dead-letter
/// sink. `source`, `transforms`, `sink` and `deadLetterSink` are positions in a chain.
public struct PipelineTopology: Equatable, Sendable {
    /// The operators of one chain, as the pipeline file names them.
    public let operatorNames: [String]
    public let transformCount: Int
    public let hasDeadLetterSink: Bool
    public let layout: PipelineLayout

    public init(operatorNames: [String], transformCount: Int, hasDeadLetterSink: Bool, layout: PipelineLayout = .single) {
        precondition(operatorNames.count == 2 + transformCount + (hasDeadLetterSink ? 1 : 0), "a pipeline is a source, its transforms, a sink and an optional dead-letter sink")
        self.operatorNames = operatorNames
        self.transformCount = transformCount
        self.hasDeadLetterSink = hasDeadLetterSink
        self.layout = layout
    }

    public init(_ spec: PipelineSpec, layout: PipelineLayout = .single) {
        self.init(operatorNames: spec.operators.map(\.name), transformCount: spec.transforms.count, hasDeadLetterSink: spec.deadLetter != nil,
                  layout: layout)
    }

    // MARK: - Positions in a chain

    public var chainLength: Int { operatorNames.count }
    public var source: Int { 0 }
    public var transforms: Range<Int> { 1..<(1 + transformCount) }
    public var sink: Int { 1 + transformCount }
    public var deadLetterSink: Int? { hasDeadLetterSink ? sink + 1 : nil }

    // MARK: - Operators of the worker

    /// Lanes this worker runs.
    public var laneCount: Int { layout.parallelism }
    public var operatorCount: Int { chainLength * laneCount }

    public func index(lane: Int, position: Int) -> Int { lane * chainLength + position }
    /// The local lane of operator `index`.
    public func lane(of index: Int) -> Int { index / chainLength }
    public func position(of index: Int) -> Int { index % chainLength }
    /// The pipeline-wide lane of operator `index`.
    public func globalLane(of index: Int) -> Int { layout.globalLane(local: lane(of: index)) }

    public var sources: [Int] { (0..<laneCount).map { index(lane: $0, position: source) } }
    public var sinks: [Int] { (0..<laneCount).map { index(lane: $0, position: sink) } }
    public var deadLetterSinks: [Int] { deadLetterSink.map { p in (0..<laneCount).map { index(lane: $0, position: p) } } ?? [] }

    /// The next operator down the main chain of its lane; nil for a main or dead-letter sink.
    public func downstream(of index: Int) -> Int? {
        position(of: index) < sink ? index + 1 : nil
    }

    /// The dead-letter sink of operator `index`'s lane.
    public func deadLetterSink(of index: Int) -> Int? {
        deadLetterSink.map { self.index(lane: lane(of: index), position: $0) }
    }

    /// How checkpoints name operator `index`: its name when the pipeline has a single lane (as
    /// before lanes existed), else `name@L` with L the global lane, so a rescale can tell
    /// whose state is whose.
    public func checkpointName(of index: Int) -> String {
        Self.checkpointName(operatorNames[position(of: index)], globalLane: globalLane(of: index), laneCount: layout.laneCount)
    }

    public static func checkpointName(_ name: String, globalLane: Int, laneCount: Int) -> String {
        laneCount == 1 ? name : "\(name)@\(globalLane)"
    }

    /// The operator's name for messages: "sink" or "sink (lane 3)".
    public func displayName(of index: Int) -> String {
        let name = operatorNames[position(of: index)]
        return layout.laneCount == 1 ? name : "\(name) (lane \(globalLane(of: index)))"
    }
}
