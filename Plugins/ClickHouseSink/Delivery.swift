import Foundation
import PluginKit

/// How finished blocks reach ClickHouse: staged and committed per checkpoint
/// (``ExactlyOnceDelivery``) or inserted as they fill (``AtLeastOnceDelivery``). The sink
/// connects, checks the table and assembles blocks; the delivery does the rest.
protocol Delivery: AnyObject {
    /// The largest block, in rows and in bytes.
    var maxBlockRows: Int { get }
    var maxBlockBytes: Int { get }
    /// How old a block may grow before it is finished without being full; nil: until full or
    /// a barrier.
    var maxBlockAge: TimeInterval? { get }

    /// Takes what a restored checkpoint holds, before `open`.
    func restore(checkpointID: UInt64, state: [UInt8]) throws
    /// The sink is connected and the table checked.
    func open(_ table: OpenTable, assembler: BlockAssembler) throws
    /// A block is finished: stage it or insert it. Called with the assembler's lock held.
    func finish(_ builder: NativeBlockBuilder) throws
    /// Before each batch: backpressure, and errors from the delivery's own threads.
    func beforeWrite() throws
    /// After the assembler finished its block for this barrier.
    func snapshot(checkpointID: UInt64) throws -> [UInt8]
    func checkpointComplete(checkpointID: UInt64) throws
    func close() throws
}

/// What opening found: the connection, the server and the deadline for opening.
struct OpenTable {
    let client: ClickHouseClient
    let serverVersion: String
    let qualifiedTable: String
    /// Until when opening retries (now, for a connection check).
    let deadline: Date
    let waiting: (ClickHouseError, Int, TimeInterval) -> Void
}
