import PluginABI

/// A plugin image that passed the ABI handshake. The image stays mapped for the life of the
/// process (RTLD_NODELETE), so the descriptor and its strings never dangle.
public struct LoadedPlugin: @unchecked Sendable {
    /// The file that was loaded (for a fresh copy: the copy).
    public let path: String
    /// The file the user named, before any copy.
    public let originalPath: String
    public let descriptor: UnsafePointer<sluice_plugin_descriptor>
    public let name: String
    public let version: String
    public let summary: String
    public let kind: PluginKind
    /// SLUICE_ABI_VERSION the plugin was built against.
    public let abiVersion: UInt32
    public let configSchemaJSON: String?

    public var abiVersionString: String { "\(abiVersion >> 16).\(abiVersion & 0xFFFF)" }
}
