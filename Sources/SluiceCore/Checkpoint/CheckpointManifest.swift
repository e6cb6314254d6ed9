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
    /// One snapshot per operator, in pipeline order.
    public var operators: [OperatorSnapshot]

    /// Any thread may call this.
    public init(
        id: UInt64,
        pipeline: String,
        kind: CheckpointKind,
        createdAtMilliseconds: Int64,
        operators: [OperatorSnapshot]
    ) {
        self.id = id
        self.pipeline = pipeline
        self.kind = kind
        self.createdAtMilliseconds = createdAtMilliseconds
        self.operators = operators
    }

    /// Sum of the operators' state sizes, for logs and metrics.
    public var totalStateBytes: Int {
        operators.reduce(0) { $0 + $1.state.count }
    }
}
