import PulsarClient

/// Which messages a checkpoint covers and what to acknowledge when it completes. Pure logic,
/// no I/O, unit-tested on its own.
///
/// - `record` is called for every message emitted, in order.
/// - `snapshot(n)` returns the last delivered position per topic partition (the state that
///   resumes exactly there) and remembers what checkpoint n covers.
/// - `complete(n)` returns the acknowledgements checkpoint n (and every earlier, possibly
///   aborted, one) allows: per partition one cumulative ack of the last entry wholly delivered
///   (Exclusive, Failover), or the individual entries wholly delivered (Shared, Key_Shared).
///   An entry is acknowledged only once every message of it is covered, so a batch entry cut
///   by a checkpoint is acknowledged by a later one; nothing past a completed checkpoint is
///   ever acknowledged.
///
/// Not thread-safe: the source's operator thread.
public struct AckTracker {
    public typealias Ack = (topic: String, id: MessageID)

    public let cumulative: Bool
    /// Last message emitted, per topic partition.
    public private(set) var delivered: [String: Position] = [:]
    private var lastCompleteEntry: [String: MessageID] = [:]
    private var entriesSinceSnapshot: [Ack] = []
    private var pending: [(checkpoint: UInt64, cumulative: [String: MessageID], individual: [Ack])] = []
    private var acknowledged: [String: Position] = [:]

    public init(cumulative: Bool) { self.cumulative = cumulative }

    /// Starts from a restored checkpoint's positions.
    public mutating func restore(_ positions: [String: Position]) {
        delivered = positions
        lastCompleteEntry = [:]
        entriesSinceSnapshot = []
        pending = []
    }

    /// Keeps only the partitions this source reads: after a rescale it was offered every old
    /// lane's positions, and a partition it does not own must not travel on in its state.
    public mutating func retain(partitions owned: Set<String>) {
        delivered = delivered.filter { owned.contains($0.key) }
    }

    public mutating func record(topic: String, id: MessageID, completesEntry: Bool) {
        delivered[topic] = id.position
        guard completesEntry else { return }
        if cumulative {
            lastCompleteEntry[topic] = id.entryID
        } else {
            entriesSinceSnapshot.append((topic, id.entryID))
        }
    }

    /// Checkpoint `checkpointID`'s barrier: the positions to store.
    public mutating func snapshot(checkpointID: UInt64) -> [String: Position] {
        pending.append((checkpointID, lastCompleteEntry, entriesSinceSnapshot))
        entriesSinceSnapshot = []
        return delivered
    }

    /// Checkpoint `checkpointID` is durable: what to acknowledge now. Idempotent: a second
    /// call for the same id returns nothing.
    public mutating func complete(checkpointID: UInt64) -> [Ack] {
        let covered = pending.filter { $0.checkpoint <= checkpointID }
        guard !covered.isEmpty else { return [] }
        pending.removeAll { $0.checkpoint <= checkpointID }
        if cumulative {
            var latest: [String: MessageID] = [:]
            for snapshot in covered { for (topic, id) in snapshot.cumulative { latest[topic] = id } }
            var acks: [Ack] = []
            for (topic, id) in latest.sorted(by: { $0.key < $1.key }) {
                if let done = acknowledged[topic], id.position <= done { continue }
                acknowledged[topic] = id.position
                acks.append((topic, id))
            }
            return acks
        }
        return covered.flatMap(\.individual)
    }

    /// Checkpoints waiting for completion (bounded by the host's retained in-flight ones).
    public var pendingCheckpoints: Int { pending.count }
}
