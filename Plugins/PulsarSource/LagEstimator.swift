import PulsarClient

/// How many messages the broker stores beyond what this source has emitted, per partition,
/// from the id of the last message stored (GET_LAST_MESSAGE_ID) and the last one emitted.
///
/// Message ids count entries, not messages: an entry holds one message, or a whole batch. The
/// entries between the two positions are turned into messages with the average batch size seen
/// so far (exact when producers do not batch, or when every batch has the same size), and the
/// rest of the entry being read is counted exactly. Entries of older ledgers than the newest
/// are not visible in the ids, so after a ledger roll-over the figure is a lower bound until the
/// source reaches the newest ledger.
///
/// Pure; the operator thread.
struct LagEstimator {
    private var entrySizeSum = 0.0
    private var entrySizeSamples = 0.0
    /// Per partition name: the last message emitted, and the size of its entry.
    private var lastEmitted: [String: (position: Position, entrySize: Int32)] = [:]

    /// Messages per entry seen so far; 1 before anything arrived.
    var messagesPerEntry: Double { entrySizeSamples > 0 ? entrySizeSum / entrySizeSamples : 1 }

    /// A restored position: everything at or before it counts as emitted.
    mutating func restored(_ positions: [String: Position]) {
        for (partition, position) in positions where lastEmitted[partition] == nil {
            lastEmitted[partition] = (position, 0)
        }
    }

    /// `message` was emitted, the last of its entry's messages in this batch.
    mutating func emitted(topic: String, id: MessageID, entrySize: Int32) {
        entrySizeSum += Double(max(1, entrySize))
        entrySizeSamples += 1
        lastEmitted[topic] = (id.position, entrySize)
    }

    /// The messages of `partition` stored after the last one emitted.
    func lag(partition: String, lastStored stored: MessageID) -> Int64 {
        // An empty partition answers with ledger and entry -1.
        if stored.ledger == .max || stored.entry == .max { return 0 }
        let perEntry = messagesPerEntry
        // The messages of the last stored entry: its batch index tells, where the broker says.
        let lastEntry = stored.batchIndex >= 0 ? Double(stored.batchIndex) + 1 : perEntry
        guard let (position, entrySize) = lastEmitted[partition] else {
            // Nothing emitted yet: the entries of the newest ledger, at least.
            return Int64((Double(stored.entry) * perEntry + lastEntry).rounded())
        }
        let restOfEntry = position.batchIndex >= 0 ? Double(max(0, Int(entrySize) - 1 - Int(position.batchIndex))) : 0
        if stored.ledger < position.ledger { return 0 }
        if stored.ledger > position.ledger {
            return Int64((restOfEntry + Double(stored.entry) * perEntry + lastEntry).rounded())
        }
        if stored.entry < position.entry { return 0 }
        if stored.entry == position.entry {
            if stored.batchIndex >= 0 && position.batchIndex >= 0 { return Int64(max(0, stored.batchIndex - position.batchIndex)) }
            return Int64(restOfEntry)
        }
        let between = Double(stored.entry - position.entry - 1)
        return Int64((restOfEntry + between * perEntry + lastEntry).rounded())
    }
}
