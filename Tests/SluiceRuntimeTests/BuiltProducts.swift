import Foundation

/// Where the package's products (the plugins among them) are built: beside this test bundle.
enum BuiltProducts {
    static let directory: String = {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (executable as NSString).deletingLastPathComponent
    }()
}
