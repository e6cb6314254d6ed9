/// A message's position: ledger, entry, index inside a batch entry, and partition.
///
/// Ordered by (ledger, entry, batch index) the way the broker orders a topic partition; the
/// partition is not part of the order (positions of different partitions are not comparable).
/// Pure value; any thread.
public struct MessageID: Hashable, Sendable, CustomStringConvertible {
    public var ledger: UInt64
    public var entry: UInt64
    /// -1 for a message that is not part of a batch.
    public var batchIndex: Int32
    /// -1 for a non-partitioned topic.
    public var partition: Int32

    public init(ledger: UInt64, entry: UInt64, batchIndex: Int32 = -1, partition: Int32 = -1) {
        self.ledger = ledger
        self.entry = entry
        self.batchIndex = batchIndex
        self.partition = partition
    }

    /// "ledger:entry:batchIndex:partition", the `message_id` column's format.
    public var description: String { "\(ledger):\(entry):\(batchIndex):\(partition)" }

    /// Parses `description`'s format.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 4, let l = UInt64(parts[0]), let e = UInt64(parts[1]),
              let b = Int32(parts[2]), let p = Int32(parts[3]) else { return nil }
        self.init(ledger: l, entry: e, batchIndex: b, partition: p)
    }

    /// The position inside one partition, comparable.
    public var position: Position { Position(ledger: ledger, entry: entry, batchIndex: batchIndex) }

    /// The entry (without batch index), as acknowledgements name it.
    public var entryID: MessageID { MessageID(ledger: ledger, entry: entry, batchIndex: -1, partition: partition) }
}

/// A position inside one topic partition: (ledger, entry, batch index), totally ordered.
public struct Position: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var ledger: UInt64
    public var entry: UInt64
    public var batchIndex: Int32

    public init(ledger: UInt64, entry: UInt64, batchIndex: Int32 = -1) {
        self.ledger = ledger
        self.entry = entry
        self.batchIndex = batchIndex
    }

    public static func < (a: Position, b: Position) -> Bool {
        if a.ledger != b.ledger { return a.ledger < b.ledger }
        if a.entry != b.entry { return a.entry < b.entry }
        return a.batchIndex < b.batchIndex
    }

    public var description: String { "\(ledger):\(entry):\(batchIndex)" }
}

extension MessageID {
    init(_ data: Pulsar_Proto_MessageIdData) {
        self.init(ledger: data.ledgerID, entry: data.entryID,
                  batchIndex: data.hasBatchIndex ? data.batchIndex : -1,
                  partition: data.hasPartition ? data.partition : -1)
    }

    /// The protocol form; `batchIndex` < 0 leaves the field out.
    var protocolData: Pulsar_Proto_MessageIdData {
        var data = Pulsar_Proto_MessageIdData()
        data.ledgerID = ledger
        data.entryID = entry
        if partition >= 0 { data.partition = partition }
        if batchIndex >= 0 { data.batchIndex = batchIndex }
        return data
    }
}
