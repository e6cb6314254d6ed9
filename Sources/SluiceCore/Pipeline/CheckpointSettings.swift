/// The `checkpointing:` section: how often and where the pipeline records its progress.
public struct CheckpointSettings: Sendable {
    /// The default `interval`.
    public static let defaultInterval: Duration = .seconds(10)

    /// Time between checkpoints; `nil` when the file says `interval: off`.
    public var interval: Duration?
    /// Where checkpoints are stored. Required: a pipeline that silently checkpointed into a
    /// temporary directory would lose its progress on reboot.
    public var directory: String
    /// How many completed checkpoints to keep (at least 1).
    public var retained: Int
    /// The delivery guarantee sinks are run with.
    public var mode: DeliveryMode
    /// How long a checkpoint may take before it is abandoned.
    public var timeout: Duration
    /// `s3:` — how to reach an `s3://` directory; nil for a local directory.
    public var objectStore: ObjectStoreSettings?
    /// `local_directory:` — with an `s3://` directory, where this machine keeps what needs a
    /// local disk (the lock, and `state_dir` for plugins that predate the staging service).
    /// Nil: `/tmp/sluice/<pipeline name>`.
    public var localDirectory: String?

    /// Whether `directory` is an object store URL rather than a local path.
    public var isObjectStore: Bool { directory.hasPrefix("s3://") }

    /// Creates settings; everything but the directory has the documented default.
    public init(
        interval: Duration? = CheckpointSettings.defaultInterval,
        directory: String,
        retained: Int = 3,
        mode: DeliveryMode = .exactlyOnce,
        timeout: Duration = .seconds(60),
        objectStore: ObjectStoreSettings? = nil,
        localDirectory: String? = nil
    ) {
        self.interval = interval
        self.directory = directory
        self.retained = retained
        self.mode = mode
        self.timeout = timeout
        self.objectStore = objectStore
        self.localDirectory = localDirectory
    }
}

/// `checkpointing.s3`: how to reach an S3-compatible store. Each setting left out is taken
/// as the AWS SDKs take it (see ``ObjectStore/S3Configuration``).
public struct ObjectStoreSettings: Sendable, Equatable {
    /// http(s)://host[:port] of an S3-compatible store; nil: `AWS_ENDPOINT_URL_S3`,
    /// `AWS_ENDPOINT_URL`, else AWS.
    public var endpoint: String?
    /// nil: `AWS_REGION`, `AWS_DEFAULT_REGION`, else us-east-1.
    public var region: String?
    /// nil: path-style with a custom endpoint, virtual-hosted with AWS.
    public var pathStyle: Bool?

    public init(endpoint: String? = nil, region: String? = nil, pathStyle: Bool? = nil) {
        self.endpoint = endpoint
        self.region = region
        self.pathStyle = pathStyle
    }
}
