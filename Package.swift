// swift-tools-version:6.0
import PackageDescription

// Plugins are dynamic libraries loaded by the host at run time through the C ABI in
// Sources/PluginABI/include/sluice_plugin.h. SwiftPM reserves `Plugins/` for its own package
// plugins, so every plugin target names its folder explicitly.

let package = Package(
    name: "sluice",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "sluice", targets: ["Host"]),
        .library(name: "PluginKit", targets: ["PluginKit"]),
        .library(name: "SluiceFileSink", type: .dynamic, targets: ["FileSink"]),
        .library(name: "SluicePassThrough", type: .dynamic, targets: ["PassThrough"]),
        .library(name: "SluiceNullSink", type: .dynamic, targets: ["NullSink"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // The contract: one C header, nothing else.
        .target(name: "PluginABI", path: "Sources/PluginABI"),
        // Arrow C Data Interface helpers shared by the host and the plugin kit.
        .target(name: "SluiceArrow", dependencies: ["PluginABI"], path: "Sources/SluiceArrow"),
        // Helpers for writing plugins in Swift.
        .target(name: "PluginKit", dependencies: ["PluginABI", "SluiceArrow"], path: "Sources/PluginKit"),
        // Pure logic: pipeline model and YAML, checkpoint coordinator and store format, plugin loader.
        .target(
            name: "SluiceCore",
            dependencies: ["PluginABI", "SluiceArrow", .product(name: "Yams", package: "Yams")],
            path: "Sources/SluiceCore"
        ),
        .executableTarget(
            name: "Host",
            dependencies: [
                "SluiceCore", "SluiceArrow", "PluginABI",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/Host"
        ),

        // Example plugins written in Swift on the plugin kit.
        .target(name: "FileSink", dependencies: ["PluginKit"], path: "Examples/FileSink"),
        .target(name: "PassThrough", dependencies: ["PluginKit"], path: "Examples/PassThrough"),
        .target(name: "NullSink", dependencies: ["PluginKit"], path: "Examples/NullSink"),

        .testTarget(name: "SluiceArrowTests", dependencies: ["SluiceArrow"], path: "Tests/SluiceArrowTests"),
        .testTarget(name: "SluiceCoreTests", dependencies: ["SluiceCore"], path: "Tests/SluiceCoreTests"),
        .testTarget(name: "HostTests", dependencies: ["SluiceCore"], path: "Tests/HostTests"),
        .testTarget(name: "FileSinkTests", dependencies: ["FileSink", "PluginKit"], path: "Tests/FileSinkTests"),
    ],
    swiftLanguageModes: [.v5]
)
