import Foundation
import PluginKit

/// Builds Native blocks from incoming batches, at most `maxRows` rows or `maxBytes` bytes
/// each, and hands every finished block to the delivery. Under a lock: the at-least-once
/// flusher finishes blocks that grew old from its own thread.
final class BlockAssembler: @unchecked Sendable {
    // @unchecked Sendable: the builder and the block's age are only touched under `lock`.
    private let lock = NSLock()
    private let builder: NativeBlockBuilder
    private let maxRows: Int
    private let maxBytes: Int
    private let finish: (NativeBlockBuilder) throws -> Void
    private var blockStarted: Date?

    init(builder: NativeBlockBuilder, maxRows: Int, maxBytes: Int, finish: @escaping (NativeBlockBuilder) throws -> Void) {
        self.builder = builder
        self.maxRows = maxRows
        self.maxBytes = maxBytes
        self.finish = finish
    }

    /// Appends `count` rows, finishing a block whenever it is full, and once more at the end
    /// when the block is older than `maxAge`.
    func append(_ columns: [ArrowSourceColumn], count: Int, maxAge: TimeInterval? = nil) throws {
        try lock.withLock {
            if builder.needsBinding(columns) {
                try finishLocked()
                do { try builder.bind(columns) } catch let error as ConversionError { throw ClickHouseSink.permanent(error) }
            }
            var start = 0
            while start < count {
                let take = min(count - start, max(1, maxRows - builder.rows), 65_536)
                do { try builder.append(columns, rows: start..<start + take) } catch let error as ConversionError {
                    builder.discard()
                    throw ClickHouseSink.permanent(error)
                }
                if blockStarted == nil { blockStarted = Date() }
                start += take
                if builder.rows >= maxRows || builder.byteCount >= maxBytes { try finishLocked() }
            }
            if let maxAge, let started = blockStarted, Date().timeIntervalSince(started) >= maxAge { try finishLocked() }
        }
    }

    /// Finishes the block being built (a barrier came).
    func finishBlock() throws {
        try lock.withLock { try finishLocked() }
    }

    /// Finishes the block being built if it is at least `age` old.
    func finishBlock(olderThan age: TimeInterval) throws {
        try lock.withLock {
            if let started = blockStarted, Date().timeIntervalSince(started) >= age { try finishLocked() }
        }
    }

    func discard() {
        lock.withLock {
            builder.discard()
            blockStarted = nil
        }
    }

    private func finishLocked() throws {
        blockStarted = nil
        try finish(builder)
    }
}
