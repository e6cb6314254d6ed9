import DurableFiles
import Foundation
import SluiceCore

/// Which of its two state folders the main sink uses: a swap opens the new sink in the other
/// one while the old sink still stages its last epoch in its own, and the choice is recorded
/// (durably, in `sink-slot` beside the checkpoints) when the swap completes, before any
/// checkpoint can hold the new sink's state.
///
/// Coordinator thread only.
enum SinkStateSlot: String {
    case a, b

    /// The folder name's suffix: none for `a`, so pipelines that never swapped keep their names.
    var suffix: String { self == .a ? "" : ".b" }
    var other: SinkStateSlot { self == .a ? .b : .a }

    static let recordName = "sink-slot"

    static func read(store: CheckpointStore) -> SinkStateSlot {
        guard let bytes = store.readRecord(recordName) else { return .a }
        return SinkStateSlot(rawValue: String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? .a
    }

    func save(store: CheckpointStore) throws {
        try store.writeRecord(Self.recordName, bytes: Array((rawValue + "\n").utf8))
    }
}
