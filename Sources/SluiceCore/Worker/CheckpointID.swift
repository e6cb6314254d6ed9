/// A checkpoint's id: increasing across the life of a checkpoint directory, and the name of the
/// epoch its barrier ends. A type of its own so that an id is never confused with a row count,
/// an operator index or a time.
public struct CheckpointID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public init(integerLiteral value: UInt64) { rawValue = value }

    public static func < (a: CheckpointID, b: CheckpointID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
}
