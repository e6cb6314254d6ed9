/// Why a plugin could not be loaded or used; every message names the file and says what to do.
public struct PluginLoadError: Error, CustomStringConvertible, Equatable {
    public enum Reason: Equatable, Sendable {
        case notFound, notSharedObject, missingEntrySymbol, handshakeRefused, incompatibleABI, malformedDescriptor, wrongKind, createFailed
    }
    public let reason: Reason
    public let description: String

    public init(_ reason: Reason, _ description: String) {
        self.reason = reason
        self.description = description
    }
}
