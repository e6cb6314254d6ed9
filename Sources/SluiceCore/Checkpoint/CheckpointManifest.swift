/// Everything one checkpoint file holds: identity, provenance and every operator's state.
///
/// A value type; any thread may use it. See ``CheckpointCodec`` for the on-disk format.
public struct CheckpointManifest: Equatable, Sendable {
    /// Monotonic checkpoint id; never reused within a store, savepoints included.
    public var id: UInt64
    /// Name of the pipeline that produced the checkpoint.
    public var pipeline: String
    public var kind: CheckpointKind
    /// Wall-clock creation time, milliseconds since the Unix epoch.
    public var createdAtMilliseconds: Int64
    /// One snapshot per operator, in pipeline order (lane after lane).
    public var operators: [OperatorSnapshot]
    /// The layout of the instance that wrote it.
    public var layout: PipelineLayout
    /// A savepoint of a stop whose every sealed epoch was committed before the worker ended:
    /// its sinks hold nothing a restore must commit, so it can start another layout.
    public var epochsCommitted: Bool

    /// Any thread may call this.
    public init(
        id: UInt64,
        pipeline: String,
        kind: CheckpointKind,
        createdAtMilliseconds: Int64,
        operators: [OperatorSnapshot],
        layout: PipelineLayout = .single,
        epochsCommitted: Bool = false
    ) {
        self.id = id
        self.pipeline = pipeline
        self.kind = kind
        self.createdAtMilliseconds = createdAtMilliseconds
        self.operators = operators
        self.layout = layout
        self.epochsCommitted = epochsCommitted
    }

    /// Sum of the operators' state sizes, for logs and metrics.
    public var totalStateBytes: Int {
        operators.reduce(0) { $0 + $1.state.count }
    }
}
