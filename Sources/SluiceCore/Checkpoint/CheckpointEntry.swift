import Foundation

/// One checkpoint or savepoint file found in a ``CheckpointStore``, decoded or not.
///
/// A value type; any thread may use it.
public struct CheckpointEntry: Equatable, Sendable {
    /// Which directory of the store the file lives in.
    public enum Kind: Equatable, Sendable {
        case checkpoint
        case savepoint
    }

    /// Whether the file could be used for a restore.
    public enum Status: Equatable, Sendable {
        case valid(CheckpointManifest)
        /// `reason` says what is wrong, ready to show to the user.
        case invalid(reason: String)
    }

    public var path: String
    public var kind: Kind
    /// The manifest's id when valid; for an invalid checkpoint the id in its file name; `nil`
    /// for an invalid savepoint, whose name carries no id.
    public var id: UInt64?
    public var sizeBytes: Int
    public var modified: Date
    public var status: Status

    public init(path: String, kind: Kind, id: UInt64?, sizeBytes: Int, modified: Date, status: Status) {
        self.path = path
        self.kind = kind
        self.id = id
        self.sizeBytes = sizeBytes
        self.modified = modified
        self.status = status
    }

    /// The decoded manifest, or `nil` when the file is invalid.
    public var manifest: CheckpointManifest? {
        if case let .valid(manifest) = status { return manifest }
        return nil
    }
}
