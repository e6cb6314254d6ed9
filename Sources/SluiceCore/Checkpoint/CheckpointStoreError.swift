/// A checkpoint store operation failed. The message names the file or directory involved
/// and says what to do about it, so it can be shown to the user as is.
///
/// A value type; any thread may use it.
public struct CheckpointStoreError: Error, Equatable, CustomStringConvertible {
    public var message: String

    public init(message: String) {
        self.message = message
    }

    public var description: String { message }
}
