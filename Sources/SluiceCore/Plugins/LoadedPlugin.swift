import PluginABI

/// A plugin image that passed the ABI handshake (the runtime's `PluginLoader` makes one). The
/// image stays mapped for the life of the process (RTLD_NODELETE), so the descriptor and its
/// strings never dangle.
///
/// `@unchecked Sendable`: the descriptor it points to is immutable once loaded and never freed.
public struct LoadedPlugin: @unchecked Sendable {
    /// The file the user named (a fresh copy is loaded from a temporary name, removed once mapped).
    public let originalPath: String
    public let descriptor: UnsafePointer<sluice_plugin_descriptor>
    public let name: String
    public let version: String
    public let summary: String
    public let kind: PluginKind
    /// SLUICE_ABI_VERSION the plugin was built against.
    public let abiVersion: UInt32
    public let configSchemaJSON: String?

    public init(originalPath: String, descriptor: UnsafePointer<sluice_plugin_descriptor>, name: String,
                version: String, summary: String, kind: PluginKind, abiVersion: UInt32, configSchemaJSON: String?) {
        self.originalPath = originalPath
        self.descriptor = descriptor
        self.name = name
        self.version = version
        self.summary = summary
        self.kind = kind
        self.abiVersion = abiVersion
        self.configSchemaJSON = configSchemaJSON
    }

    public var abiVersionString: String { "\(abiVersion >> 16).\(abiVersion & 0xFFFF)" }
}
