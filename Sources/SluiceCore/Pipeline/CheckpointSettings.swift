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

    /// Creates settings; everything but the directory has the documented default.
    public init(
        interval: Duration? = CheckpointSettings.defaultInterval,
        directory: String,
        retained: Int = 3,
        mode: DeliveryMode = .exactlyOnce,
        timeout: Duration = .seconds(60)
    ) {
        self.interval = interval
        self.directory = directory
        self.retained = retained
        self.mode = mode
        self.timeout = timeout
    }
}
