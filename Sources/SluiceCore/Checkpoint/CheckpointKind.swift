/// Why a checkpoint was taken, which decides where it is stored and how long it lives.
///
/// A value type; any thread may use it.
public enum CheckpointKind: Equatable, Sendable {
    /// Periodic checkpoint taken by the coordinator; pruned automatically.
    case checkpoint
    /// Savepoint requested by an operator of the system; kept under `name` until removed by hand.
    case savepoint(name: String)
}
