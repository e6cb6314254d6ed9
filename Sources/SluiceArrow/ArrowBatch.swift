import Glibc
import PluginABI

/// Owns one batch as a pair of Arrow C Data Interface structs (a "+s" schema and its struct
/// array). Moving a batch across the plugin boundary is a bitwise copy of both structs followed
/// by marking the source released, exactly as the Arrow specification defines a move.
///
/// Not thread-safe: a batch belongs to one thread at a time (it is handed between operator
/// threads through queues, never shared).
public final class ArrowBatch {
    public let schema: UnsafeMutablePointer<ArrowSchema>
    public let array: UnsafeMutablePointer<ArrowArray>

    /// An empty (released) pair, ready to be filled by a producer.
    public init() {
        schema = .allocate(capacity: 1)
        array = .allocate(capacity: 1)
        schema.initialize(to: ArrowSchema())
        array.initialize(to: ArrowArray())
    }

    /// Takes ownership of a batch by moving it out of `schema` and `array`.
    public convenience init(movingFrom schema: UnsafeMutablePointer<ArrowSchema>, array: UnsafeMutablePointer<ArrowArray>) {
        self.init()
        self.schema.pointee = schema.pointee
        self.array.pointee = array.pointee
        schema.pointee.release = nil
        array.pointee.release = nil
    }

    deinit {
        release()
        schema.deallocate()
        array.deallocate()
    }

    /// True when both structs hold a live batch.
    public var isLive: Bool { schema.pointee.release != nil && array.pointee.release != nil }

    /// Number of rows; 0 for a released batch.
    public var length: Int { isLive ? Int(array.pointee.length) : 0 }

    /// Moves the batch into caller-provided structs; this object is released afterwards.
    public func move(toSchema destinationSchema: UnsafeMutablePointer<ArrowSchema>, array destinationArray: UnsafeMutablePointer<ArrowArray>) {
        destinationSchema.pointee = schema.pointee
        destinationArray.pointee = array.pointee
        schema.pointee.release = nil
        array.pointee.release = nil
    }

    /// Calls the producer's release callbacks (once); safe to call again.
    public func release() {
        if let release = array.pointee.release { release(array) }
        if let release = schema.pointee.release { release(schema) }
        array.pointee.release = nil
        schema.pointee.release = nil
    }

    /// A read-only view of the columns. Valid while this batch is alive and not moved.
    public func view() throws -> ArrowBatchView {
        try ArrowBatchView(schema: schema, array: array)
    }
}
