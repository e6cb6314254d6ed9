import PluginABI

/// Reading the fixed-size strings of a `sluice_error`.
public enum PluginErrorText {
    public static func message(_ error: sluice_error) -> String {
        var e = error
        return withUnsafeBytes(of: &e.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    public static func configPath(_ error: sluice_error) -> String {
        var e = error
        return withUnsafeBytes(of: &e.config_path) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
