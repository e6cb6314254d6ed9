/// The guarantee a pipeline gives about records reaching the sink across a restart.
public enum DeliveryMode: String, Sendable, CaseIterable {
    /// Sinks commit only on checkpoint completion, so a replay after a restart never duplicates.
    case exactlyOnce = "exactly-once"
    /// Sinks may write ahead of the checkpoint; a replay after a restart can duplicate records.
    case atLeastOnce = "at-least-once"
}
