import Foundation

/// Where plugins named without a path are looked for, in order: the `--plugin-path` flag,
/// `SLUICE_PLUGIN_PATH` (colon-separated), then the folder of the `sluice` executable.
public struct PluginSearchPath: Sendable {
    public let directories: [String]

    public init(flag: [String] = [], environment: [String: String] = ProcessInfo.processInfo.environment,
                executableDirectory: String? = PluginSearchPath.executableDirectory()) {
        var dirs = flag.flatMap { $0.split(separator: ":").map(String.init) }
        dirs += (environment["SLUICE_PLUGIN_PATH"] ?? "").split(separator: ":").map(String.init)
        if let executableDirectory { dirs.append(executableDirectory) }
        var seen = Set<String>()
        directories = dirs.filter { !$0.isEmpty && seen.insert($0).inserted }
    }

    public static func executableDirectory() -> String? {
        guard let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
        return (path as NSString).deletingLastPathComponent
    }

    /// True when a reference names a file rather than a plugin.
    public static func isPath(_ reference: String) -> Bool {
        reference.contains("/") || reference.hasSuffix(".so")
    }

    /// The file names tried for a plugin name, e.g. "file-sink": libsluice-file-sink.so,
    /// libsluice_file_sink.so, libfile-sink.so, file-sink.so, and libSluiceFileSink.so (the name
    /// SwiftPM gives a `.dynamic` product called SluiceFileSink). Matched without regard to case.
    public static func candidateFileNames(for name: String) -> [String] {
        let camel = name.split(whereSeparator: { $0 == "-" || $0 == "_" }).map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        let underscored = name.replacingOccurrences(of: "-", with: "_")
        return ["libsluice-\(name).so", "libsluice_\(underscored).so", "lib\(name).so", "\(name).so", "libSluice\(camel).so"]
    }

    /// Resolves a reference to a file: a path is taken relative to `baseDirectory`; a name is
    /// searched for in `directories`. Returns the paths tried when nothing exists.
    public func resolve(_ reference: String, relativeTo baseDirectory: String? = nil) -> (path: String?, tried: [String]) {
        if PluginSearchPath.isPath(reference) {
            let path = reference.hasPrefix("/") || baseDirectory == nil ? reference : baseDirectory! + "/" + reference
            return (FileManager.default.fileExists(atPath: path) ? path : nil, [path])
        }
        var tried: [String] = []
        for directory in directories {
            // Compared without case: `clickhouse-sink` finds libSluiceClickHouseSink.so.
            let present = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            for file in PluginSearchPath.candidateFileNames(for: reference) {
                tried.append(directory + "/" + file)
                if let match = present.first(where: { $0.lowercased() == file.lowercased() }) {
                    return (directory + "/" + match, tried)
                }
            }
        }
        return (nil, tried)
    }

    /// Every `.so` file in the search path, for `sluice plugins list`.
    public func allSharedObjects() -> [String] {
        directories.flatMap { directory -> [String] in
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
            return files.filter { $0.hasSuffix(".so") }.sorted().map { directory + "/" + $0 }
        }
    }
}
