/// Where each operator of a pipeline stands, by index into its operator list: the source,
/// the transforms in order, the main sink, then the dead-letter sink if there is one. Rows flow
/// down the main chain; rejected rows go from any operator to the dead-letter sink.
public struct PipelineTopology: Equatable, Sendable {
    public let operatorNames: [String]
    public let transformCount: Int
    public let hasDeadLetterSink: Bool

    public init(operatorNames: [String], transformCount: Int, hasDeadLetterSink: Bool) {
        precondition(operatorNames.count == 2 + transformCount + (hasDeadLetterSink ? 1 : 0), "a pipeline is a source, its transforms, a sink and an optional dead-letter sink")
        self.operatorNames = operatorNames
        self.transformCount = transformCount
        self.hasDeadLetterSink = hasDeadLetterSink
    }

    public init(_ spec: PipelineSpec) {
        self.init(operatorNames: spec.operators.map(\.name), transformCount: spec.transforms.count, hasDeadLetterSink: spec.deadLetter != nil)
    }

    public var operatorCount: Int { operatorNames.count }
    public var source: Int { 0 }
    public var transforms: Range<Int> { 1..<(1 + transformCount) }
    public var sink: Int { 1 + transformCount }
    public var deadLetterSink: Int? { hasDeadLetterSink ? sink + 1 : nil }

    /// The next operator down the main chain; nil for the main sink and the dead-letter sink.
    public func downstream(of index: Int) -> Int? {
        index < sink ? index + 1 : nil
    }
}
