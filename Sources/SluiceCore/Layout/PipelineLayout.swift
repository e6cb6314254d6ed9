/// How a pipeline is spread: `instances` processes (hosts, pods), each running `parallelism`
/// lanes. The pipeline has `instances × parallelism` global lanes; instance I runs lanes
/// `I×P ..< I×P+P`. A source plugin learns its global lane and the lane count (ABI 1.2) and
/// takes its share: the Pulsar source owns partition p when p mod laneCount equals its lane.
///
/// A value type; any thread may use it.
public struct PipelineLayout: Equatable, Sendable, CustomStringConvertible {
    /// This process's instance, `0 ..< instances`.
    public var instance: Int
    public var instances: Int
    /// Lanes per instance.
    public var parallelism: Int

    public init(instance: Int = 0, instances: Int = 1, parallelism: Int = 1) {
        precondition(instances >= 1 && (0..<instances).contains(instance) && parallelism >= 1, "invalid layout")
        self.instance = instance
        self.instances = instances
        self.parallelism = parallelism
    }

    /// One instance with one lane: the layout of every checkpoint written before lanes existed.
    public static let single = PipelineLayout()

    public var laneCount: Int { instances * parallelism }
    /// The global lanes this instance runs, in local order.
    public var lanes: Range<Int> { (instance * parallelism)..<(instance * parallelism + parallelism) }
    public func globalLane(local: Int) -> Int { instance * parallelism + local }

    /// The instance that runs global lane `lane`.
    public func instance(ofLane lane: Int) -> Int { lane / parallelism }

    /// Same shape, whichever instance this is.
    public func hasSameShape(as other: PipelineLayout) -> Bool {
        instances == other.instances && parallelism == other.parallelism
    }

    /// "instance 1 of 3, 2 lanes each (lanes 2-3 of 6)".
    public var description: String {
        let lanesText = parallelism == 1 ? "1 lane" : "\(parallelism) lanes"
        let range = lanes.count == 1 ? "lane \(lanes.lowerBound)" : "lanes \(lanes.lowerBound)-\(lanes.upperBound - 1)"
        return "instance \(instance) of \(instances), \(lanesText) each (\(range) of \(laneCount))"
    }

    /// "3 x 2": instances by lanes per instance.
    public var shape: String { "\(instances) x \(parallelism)" }
}
