/// The `admin:` section: the pipeline's HTTP admin API (status, metrics, checkpoints,
/// savepoints, sink swaps). Off unless the section is present or `sluice run --admin` names an
/// address.
public struct AdminSettings: Sendable, Equatable {
    /// The default listening address: loopback only.
    public static let defaultAddress = "127.0.0.1:7464"
    /// The default environment variable holding the bearer token.
    public static let defaultTokenEnvironment = "SLUICE_ADMIN_TOKEN"

    /// `host:port` to listen on.
    public var address: String
    /// Environment variable with the bearer token; used when `tokenFile` is nil.
    public var tokenEnvironment: String
    /// A file whose first line is the bearer token.
    public var tokenFile: String?

    public init(address: String = AdminSettings.defaultAddress,
                tokenEnvironment: String = AdminSettings.defaultTokenEnvironment, tokenFile: String? = nil) {
        self.address = address
        self.tokenEnvironment = tokenEnvironment
        self.tokenFile = tokenFile
    }

    /// `address` split into host and port, or nil when it is not `host:port`.
    public var hostAndPort: (host: String, port: Int)? {
        guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]),
              (0...65535).contains(port) else { return nil }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }
}
