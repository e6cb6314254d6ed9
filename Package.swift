// swift-tools-version:6.0
import PackageDescription

// Plugins are dynamic libraries loaded by the host at run time through the C ABI in
// Sources/PluginABI/include/sluice_plugin.h. SwiftPM reserves `Plugins/` for its own package
// plugins, so every plugin target names its folder explicitly.

let uncheckedExclusivity: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"])]
/// Data-race safety checked by the compiler. The package's default is still Swift 5 mode; the
/// modules below the runtime (the pure logic, the Arrow helpers, the plugin kit and what they
/// use) are in Swift 6 mode, and the rest follows module by module.
let swift6: [SwiftSetting] = [.swiftLanguageMode(.v6)]
/// How the package's plugins are linked: exporting only `sluice_plugin_entry`, so that the
/// linker can drop what they never call of the libraries linked into them (SwiftNIO, BoringSSL,
/// SwiftProtobuf, AsyncHTTPClient), and the dynamic linker has no symbols of theirs to bind.
let packageRoot = String(#filePath.dropLast("/Package.swift".count))
let pluginLinking: [LinkerSetting] = [
    .unsafeFlags(["-Xlinker", "--version-script=\(packageRoot)/Sources/PluginABI/plugin-exports.map", "-Xlinker", "--gc-sections"]),
]

let package = Package(
    name: "sluice",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "sluice", targets: ["sluice"]),
        .executable(name: "sluice-supervisor", targets: ["sluice-supervisor"]),
        .library(name: "PluginKit", targets: ["PluginKit"]),
        .library(name: "SluiceFileSink", type: .dynamic, targets: ["FileSinkEntry"]),
        .library(name: "SluicePassThrough", type: .dynamic, targets: ["PassThrough"]),
        .library(name: "SluiceNullSink", type: .dynamic, targets: ["NullSink"]),
        .library(name: "SluiceLineSource", type: .dynamic, targets: ["LineSource"]),
        .library(name: "SluicePulsarSource", type: .dynamic, targets: ["PulsarSourceEntry"]),
        .library(name: "SluicePulsarSink", type: .dynamic, targets: ["PulsarSinkEntry"]),
        .library(name: "SluiceClickHouseSink", type: .dynamic, targets: ["ClickHouseSinkEntry"]),
        .library(name: "SluiceFn", type: .dynamic, targets: ["FunctionTransformEntry"]),  // libSluiceFn.so: the plugin `fn`
        .library(name: "SluiceSensorParser", type: .dynamic, targets: ["SensorParserEntry"]),
        .library(name: "PulsarClient", targets: ["PulsarClient"]),
        // Examples in plain C, built with the package so every shipped pipeline runs after one
        // build: the sequence source plugin (libsequence-source.so) and the library the `fn`
        // example calls (libcalibrate.so).
        .library(name: "sequence-source", type: .dynamic, targets: ["SequenceSource"]),
        .library(name: "calibrate", type: .dynamic, targets: ["Calibrate"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
    ],
    targets: [
        // The contract: one C header, nothing else.
        .target(name: "PluginABI", path: "Sources/PluginABI", exclude: ["plugin-exports.map"]),
        // Arrow C Data Interface helpers shared by the host and the plugin kit.
        // Hot per-row code (column builders, the JSON scanner) runs without dynamic exclusivity
        // checks: they cost a third of the parser's time, and these types are confined to one
        // operator thread by the plugin ABI.
        .target(name: "SluiceArrow", dependencies: ["PluginABI"], path: "Sources/SluiceArrow", swiftSettings: uncheckedExclusivity + swift6),
        // Helpers for writing plugins in Swift.
        .target(name: "PluginKit", dependencies: ["PluginABI", "SluiceArrow", "DurableFiles", "ConfigValues"], path: "Sources/PluginKit", swiftSettings: swift6),
        // Crash-safe file writes (write, fsync, rename, fsync the directory), for the checkpoint
        // store and for every sink that stages epochs; whole reads, the kernel's files included.
        .target(name: "DurableFiles", path: "Sources/DurableFiles", swiftSettings: swift6),
        // The value types every configuration shares, the pipeline file's and each plugin's:
        // durations and secrets, with one grammar and one set of messages.
        .target(name: "ConfigValues", path: "Sources/ConfigValues", swiftSettings: swift6),
        // A mutex with condition variables on the monotonic clock, for queues between threads.
        .target(name: "ThreadConditions", path: "Sources/ThreadConditions", swiftSettings: swift6),
        // TLS settings as users write them (trust, client certificate, the two verifications) and
        // one-line explanations of TLS failures, for every connection sluice opens.
        .target(
            name: "TLSSupport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            path: "Sources/TLSSupport", swiftSettings: swift6
        ),
        // S3-compatible object storage: SigV4 signing (swift-crypto), the AWS SDKs' credential
        // and endpoint sources, objects, listings and multipart uploads with retries.
        .target(
            name: "ObjectStore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Sources/ObjectStore"
        ),
        // The `restart:` section's backoff, apart so that the supervisor can use it without
        // the pipeline model (and Foundation, which the model's YAML reader needs).
        .target(name: "RestartPolicy", path: "Sources/RestartPolicy", swiftSettings: swift6),
        // What keeps a worker running: spawning it, forwarding signals, restarting it with
        // backoff, re-running `sluice run` for a reload. Without Foundation, so that the
        // process that lives beside the worker is a few MB (`sluice-supervisor`).
        .target(name: "ProcessSupervision", dependencies: ["RestartPolicy"], path: "Sources/ProcessSupervision", swiftSettings: swift6),
        // CRC-32C, for checkpoint files and Pulsar frames.
        .target(name: "CRC32C", path: "Sources/CRC32C", swiftSettings: swift6),
        // Pure logic: the pipeline model and its YAML, the checkpoint coordinator and file format,
        // the worker's state machine. No threads, no files written, no libraries loaded.
        .target(
            name: "SluiceCore",
            dependencies: ["PluginABI", "SluiceArrow", "CRC32C", "ConfigValues", "RestartPolicy", .product(name: "Yams", package: "Yams")],
            path: "Sources/SluiceCore",
            swiftSettings: swift6
        ),
        // prctl for the worker (Swift cannot call a variadic C function).
        .target(name: "CProcessControl", path: "Sources/CProcessControl"),
        // The runtime: the checkpoint store on disk, the plugin loader (dlopen), operator threads,
        // the worker and its supervisor, the admin API and the command line. A library, so that
        // it is tested in-process; `sluice` is its thin executable.
        .target(
            name: "SluiceRuntime",
            dependencies: ["ObjectStore", "PluginCheck", "PluginSDK", "ProcessSupervision",
                "SluiceCore", "SluiceArrow", "PluginABI", "PulsarClient", "TLSSupport", "CProcessControl", "DurableFiles", "ConfigValues", "ThreadConditions",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/SluiceRuntime"
        ),
        .executableTarget(name: "sluice", dependencies: ["SluiceRuntime"], path: "Sources/sluice"),
        // What `sluice run` becomes once it has checked the pipeline: the supervisor.
        .executableTarget(name: "sluice-supervisor", dependencies: ["ProcessSupervision"], path: "Sources/sluice-supervisor", swiftSettings: swift6),
        // `sluice plugins check`: runs a plugin through the ABI contract (Arrow layouts, releases,
        // lifecycle, checkpoints, threads) and reports every violation.
        .target(name: "PluginCheck", dependencies: ["PluginABI", "SluiceArrow", "SluiceCore", "CCheckProbes"], path: "Sources/PluginCheck"),
        .target(name: "CCheckProbes", path: "Sources/CCheckProbes"),
        // What a plugin author needs from the binary: the header (a link to the one in
        // PluginABI, embedded at build time) and the templates of `sluice plugins new`.
        .target(name: "PluginSDK", path: "Sources/PluginSDK", resources: [.embedInCode("sluice_plugin.h"), .embedInCode("Templates")], swiftSettings: swift6),

        // Debian's compression libraries (liblz4, libzstd, libsnappy, zlib) for Pulsar payloads.
        .systemLibrary(name: "CCompression", path: "Sources/CCompression"),
        // The Pulsar binary protocol: framing, protobuf commands, state machines, NIO channels.
        .target(
            name: "PulsarClient",
            dependencies: [
                "CRC32C", "CCompression", "ThreadConditions", "TLSSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            path: "Sources/PulsarClient"
        ),
        // What the Pulsar source and sink share: the broker's TLS and authentication settings.
        .target(name: "PulsarConnection", dependencies: ["PluginKit", "PulsarClient", "TLSSupport"], path: "Plugins/PulsarConnection"),
        .target(name: "PulsarSource", dependencies: ["PluginKit", "PulsarClient", "PulsarConnection"], path: "Plugins/PulsarSource", exclude: ["Entry"], swiftSettings: uncheckedExclusivity),
        .target(name: "PulsarSourceEntry", dependencies: ["PulsarSource", "PluginKit"], path: "Plugins/PulsarSource/Entry", linkerSettings: pluginLinking),
        .target(name: "PulsarSink", dependencies: ["PluginKit", "PulsarClient", "PulsarConnection"], path: "Plugins/PulsarSink", exclude: ["Entry"]),
        .target(name: "PulsarSinkEntry", dependencies: ["PulsarSink", "PluginKit"], path: "Plugins/PulsarSink/Entry", linkerSettings: pluginLinking),
        .target(name: "SensorParser", dependencies: ["PluginKit"], path: "Plugins/SensorParser", exclude: ["Entry"], swiftSettings: uncheckedExclusivity),
        .target(name: "SensorParserEntry", dependencies: ["SensorParser", "PluginKit"], path: "Plugins/SensorParser/Entry", linkerSettings: pluginLinking),
        // Debian's libffi, for calling C functions declared in YAML.
        .systemLibrary(name: "CFFI", path: "Sources/CFFI"),
        .target(name: "FunctionTransform", dependencies: ["PluginKit", "CFFI", "DurableFiles"], path: "Plugins/FunctionTransform", exclude: ["Entry"]),
        .target(name: "FunctionTransformEntry", dependencies: ["FunctionTransform", "PluginKit"], path: "Plugins/FunctionTransform/Entry", linkerSettings: pluginLinking),
        .target(
            name: "ClickHouseSink",
            dependencies: [
                "PluginKit", "CCompression", "TLSSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Plugins/ClickHouseSink", exclude: ["Entry"]
        ),
        .target(name: "ClickHouseSinkEntry", dependencies: ["ClickHouseSink", "PluginKit"], path: "Plugins/ClickHouseSink/Entry", linkerSettings: pluginLinking),

        // Example plugins written in Swift on the plugin kit.
        .target(name: "FileSink", dependencies: ["PluginKit"], path: "Examples/FileSink", exclude: ["Entry"]),
        .target(name: "FileSinkEntry", dependencies: ["FileSink", "PluginKit"], path: "Examples/FileSink/Entry", linkerSettings: pluginLinking),
        .target(name: "PassThrough", dependencies: ["PluginKit"], path: "Examples/PassThrough"),
        .target(name: "NullSink", dependencies: ["PluginKit"], path: "Examples/NullSink"),
        .target(name: "LineSource", dependencies: ["PluginKit"], path: "Examples/LineSource"),
        // Example plugin and library in C: nothing but the header.
        .target(name: "SequenceSource", dependencies: ["PluginABI"], path: "Examples/sequence-source", publicHeadersPath: "."),
        .target(name: "Calibrate", path: "Examples/calibration", publicHeadersPath: "."),

        // Test support, linked by test targets only: one fake host for driving a plugin directly,
        // and the harnesses for the real services (ClickHouse) and commands.
        .target(name: "PluginTestSupport", dependencies: ["PluginKit"], path: "Tests/PluginTestSupport"),
        .target(name: "ServiceTestSupport", path: "Tests/ServiceTestSupport"),

        .testTarget(name: "SluiceArrowTests", dependencies: ["SluiceArrow"], path: "Tests/SluiceArrowTests"),
        .testTarget(name: "DurableFilesTests", dependencies: ["DurableFiles"], path: "Tests/DurableFilesTests"),
        .testTarget(name: "ConfigValuesTests", dependencies: ["ConfigValues"], path: "Tests/ConfigValuesTests"),
        .testTarget(name: "PluginKitTests", dependencies: ["PluginKit"], path: "Tests/PluginKitTests"),
        .testTarget(name: "CRC32CTests", dependencies: ["CRC32C"], path: "Tests/CRC32CTests"),
        .testTarget(name: "SluiceCoreTests", dependencies: ["SluiceCore", "CRC32C", "RestartPolicy"], path: "Tests/SluiceCoreTests"),
        .testTarget(name: "ProcessSupervisionTests", dependencies: ["ProcessSupervision"], path: "Tests/ProcessSupervisionTests"),
        .testTarget(name: "PulsarClientTests", dependencies: ["PulsarClient", .product(name: "NIOEmbedded", package: "swift-nio")], path: "Tests/PulsarClientTests"),
        .testTarget(name: "ObjectStoreTests", dependencies: ["ObjectStore", "ServiceTestSupport"], path: "Tests/ObjectStoreTests"),
        .testTarget(name: "TLSSupportTests", dependencies: ["TLSSupport", "ServiceTestSupport"], path: "Tests/TLSSupportTests"),
        .testTarget(name: "PulsarSourceTests", dependencies: ["PulsarSource", "PulsarClient", "PluginKit", "PluginTestSupport", "ServiceTestSupport"], path: "Tests/PulsarSourceTests"),
        .testTarget(name: "PulsarSinkTests", dependencies: ["PulsarSink", "PulsarClient", "PluginKit"], path: "Tests/PulsarSinkTests"),
        .testTarget(name: "SensorParserTests", dependencies: ["SensorParser", "PluginKit", "PluginTestSupport"], path: "Tests/SensorParserTests"),
        .testTarget(name: "FunctionTransformTests", dependencies: ["FunctionTransform", "PluginKit", "PluginTestSupport"], path: "Tests/FunctionTransformTests"),
        .testTarget(name: "ClickHouseSinkTests", dependencies: ["ClickHouseSink", "PluginKit", "PluginTestSupport", "ServiceTestSupport"], path: "Tests/ClickHouseSinkTests"),
        .testTarget(name: "SluiceRuntimeTests", dependencies: ["SluiceRuntime", "SluiceCore", "SluiceArrow", "PluginTestSupport", "ObjectStore", "ServiceTestSupport"], path: "Tests/SluiceRuntimeTests"),
        // The built `sluice` binary, run as a user runs it, against real Pulsar and ClickHouse.
        .testTarget(name: "SluiceTests", dependencies: ["SluiceCore", "DurableFiles", "ServiceTestSupport", .product(name: "Yams", package: "Yams")], path: "Tests/SluiceTests"),
        .testTarget(name: "PluginCheckTests", dependencies: ["PluginCheck", "PluginABI"], path: "Tests/PluginCheckTests"),
        .testTarget(name: "PluginSDKTests", dependencies: ["PluginSDK"], path: "Tests/PluginSDKTests"),
        .testTarget(name: "FileSinkTests", dependencies: ["FileSink", "PluginKit"], path: "Tests/FileSinkTests"),
    ],
    swiftLanguageModes: [.v5]
)
