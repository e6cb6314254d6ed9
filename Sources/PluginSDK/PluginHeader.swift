/// The plugin ABI header, embedded in the binary at build time from
/// Sources/PluginABI/include/sluice_plugin.h, so `sluice plugins header` and `sluice plugins new`
/// give authors the exact contract this host speaks.
public enum PluginHeader {
    public static var text: String { String(decoding: PackageResources.sluice_plugin_h, as: UTF8.self) }

    /// The ABI version the header declares, "major.minor".
    public static var version: String {
        func value(_ macro: String) -> String {
            for line in text.split(separator: "\n") where line.hasPrefix("#define \(macro) ") {
                return String(line.dropFirst("#define \(macro) ".count)).trimmingPrefix(while: { $0 == " " })
            }
            return "?"
        }
        return "\(value("SLUICE_ABI_VERSION_MAJOR")).\(value("SLUICE_ABI_VERSION_MINOR"))"
    }

    /// A pkg-config file for a header installed in `directory`.
    public static func pkgConfig(directory: String) -> String {
        """
        prefix=\(directory)
        includedir=${prefix}

        Name: sluice-plugin
        Description: The sluice plugin ABI: one C header, nothing to link
        Version: \(version)
        Cflags: -I${includedir}

        """
    }
}

extension String {
    fileprivate func trimmingPrefix(while predicate: (Character) -> Bool) -> String {
        String(drop(while: predicate))
    }
}
