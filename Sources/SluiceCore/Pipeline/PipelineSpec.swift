import RestartPolicy

/// A whole pipeline as described by one pipeline file, validated and with defaults filled in.
public struct PipelineSpec: Sendable {
    /// The pipeline's name, made of `[A-Za-z0-9_.-]`.
    public var name: String
    /// The operator that produces records.
    public var source: OperatorSpec
    /// The transforms, in the order records pass through them.
    public var transforms: [OperatorSpec]
    /// The operator that consumes records.
    public var sink: OperatorSpec
    /// Where rejected records go, if anywhere.
    public var deadLetter: OperatorSpec?
    /// The `checkpointing:` section.
    public var checkpointing: CheckpointSettings
    /// The `restart:` section (all defaults when absent).
    public var restart: RestartStrategy
    /// Batches each queue between two operators may hold (1...65536, default 16).
    public var queueCapacity: Int
    /// Sixteen batches let a source run ahead while a sink blocks in a long write (an 8 MiB
    /// part uploaded to S3, an at-least-once flush); a pipeline whose sink never blocks its
    /// thread can hold less (the sensors pipeline keeps 4).
    public static let defaultQueueCapacity = 16
    /// Whether the transforms run on their source's thread, called with each batch instead of
    /// taking it from a queue: Flink's operator chaining. Off (the default), each transform has
    /// a thread and an input queue of its own and works beside the source on another core:
    /// more rows per second where a core is free, a thread and a queue more of memory.
    public var chainTransforms: Bool
    /// Lanes per instance (1...256, default 1): each lane is a whole copy of the chain on its
    /// own threads.
    public var parallelism: Int
    /// The `admin:` section; nil when the pipeline has no admin API.
    public var admin: AdminSettings?
    /// How often a status line is logged when standard output is not a terminal.
    public var statusInterval: Duration
    /// The default `status_interval`.
    public static let defaultStatusInterval: Duration = .seconds(10)
    /// The file the pipeline was loaded from, as named by the caller.
    public var file: String

    /// Creates a pipeline from its parts.
    public init(
        name: String,
        source: OperatorSpec,
        transforms: [OperatorSpec],
        sink: OperatorSpec,
        deadLetter: OperatorSpec?,
        checkpointing: CheckpointSettings,
        restart: RestartStrategy = RestartStrategy(),
        queueCapacity: Int = PipelineSpec.defaultQueueCapacity,
        chainTransforms: Bool = false,
        parallelism: Int = 1,
        admin: AdminSettings? = nil,
        statusInterval: Duration = PipelineSpec.defaultStatusInterval,
        file: String
    ) {
        self.name = name
        self.source = source
        self.transforms = transforms
        self.sink = sink
        self.deadLetter = deadLetter
        self.checkpointing = checkpointing
        self.restart = restart
        self.queueCapacity = queueCapacity
        self.chainTransforms = chainTransforms
        self.parallelism = parallelism
        self.admin = admin
        self.statusInterval = statusInterval
        self.file = file
    }

    /// Every operator in data-flow order: source, transforms, sink, then the dead-letter sink.
    public var operators: [OperatorSpec] {
        [source] + transforms + [sink] + (deadLetter.map { [$0] } ?? [])
    }
}
