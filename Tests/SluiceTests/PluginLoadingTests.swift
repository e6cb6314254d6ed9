import Foundation
import XCTest

/// Every way a plugin can fail to load names the file and says what to do.
final class PluginLoadingTests: XCTestCase {
    private var dir = ""

    override func setUp() { dir = makeTemporaryDirectory("loading") }
    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    private func fixture(_ name: String, _ defines: [String] = []) throws -> String {
        try Built.cPlugin(source: Built.packageRoot + "/Tests/Fixtures/fixture_plugin.c", output: dir + "/\(name).so", defines: defines)
    }

    private func pipeline(source: String, sourceConfig: String = "{}", sink: String = "file-sink", extra: String = "") -> String {
        let path = dir + "/pipeline.yaml"
        let yaml = """
        name: loading
        source:
          plugin: \(source)
          config: \(sourceConfig)
        sink:
          plugin: \(sink)
          config: { directory: \(dir)/out }
        checkpointing:
          directory: \(dir)/checkpoints
        \(extra)
        """
        try! yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func validate(_ path: String) throws -> RunResult {
        try runProcess(Built.sluice, ["validate", path])
    }

    /// The package's plugins export their entry point and nothing else: what is linked into
    /// them (here NIOSSL's BoringSSL) stays private, so the linker drops what they never call.
    func testThePackagesPluginsExportOnlyTheirEntryPoint() throws {
        for name in ["libSluicePulsarSource.so", "libSluicePulsarSink.so", "libSluiceClickHouseSink.so"] {
            let path = Built.productsDirectory + "/" + name
            // Never closed: Swift libraries are not unloaded.
            let handle = try XCTUnwrap(dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE), String(cString: dlerror()))
            XCTAssertNotNil(dlsym(handle, "sluice_plugin_entry"), name)
            XCTAssertNil(dlsym(handle, "CNIOBoringSSL_SSL_new"), "\(name) exports the BoringSSL linked into it")
        }
    }

    func testMissingFileIsNamed() throws {
        let result = try validate(pipeline(source: dir + "/nothing-here.so"))
        XCTAssertEqual(result.status, 78)
        XCTAssertTrue(result.stderr.contains("pipeline.yaml:3:11"), result.stderr)
        XCTAssertTrue(result.stderr.contains("\(dir)/nothing-here.so does not exist"), result.stderr)
    }

    func testUnknownPluginNameListsSearchPath() throws {
        let result = try validate(pipeline(source: "no-such-plugin"))
        XCTAssertEqual(result.status, 78)
        XCTAssertTrue(result.stderr.contains("no plugin named 'no-such-plugin'"), result.stderr)
        XCTAssertTrue(result.stderr.contains("SLUICE_PLUGIN_PATH"), result.stderr)
    }

    func testNotASharedObject() throws {
        let path = dir + "/text.so"
        try "just text".write(toFile: path, atomically: true, encoding: .utf8)
        let result = try validate(pipeline(source: path))
        XCTAssertEqual(result.status, 78)
        XCTAssertTrue(result.stderr.contains("plugin file \(path) is not a shared object"), result.stderr)
        XCTAssertTrue(result.stderr.contains("cc -shared -fPIC"), result.stderr)
    }

    func testMissingEntrySymbol() throws {
        let path = try fixture("noentry", ["FIXTURE_NO_ENTRY"])
        let result = try validate(pipeline(source: path))
        XCTAssertEqual(result.status, 78)
        XCTAssertTrue(result.stderr.contains("\(path) is a shared object but does not export `sluice_plugin_entry`"), result.stderr)
    }

    func testABITooNew() throws {
        let path = try fixture("abi2", ["FIXTURE_ABI=0x20000"])
        let result = try validate(pipeline(source: path))
        XCTAssertEqual(result.status, 78)
        XCTAssertTrue(result.stderr.contains("plugin \(path) was built for sluice ABI 2.0, which is newer than the ABI 1.2 this sluice speaks"), result.stderr)
        XCTAssertTrue(result.stderr.contains("upgrade sluice"), result.stderr)
    }

    func testABITooOld() throws {
        let path = try fixture("abi0", ["FIXTURE_ABI=0x9"])
        let result = try validate(pipeline(source: path))
        XCTAssertEqual(result.status, 78)
        XCTAssertTrue(result.stderr.contains("plugin \(path) was built for sluice ABI 0.9, which is older than the ABI 1.2"), result.stderr)
        XCTAssertTrue(result.stderr.contains("rebuild the plugin against sluice_plugin.h 1.x"), result.stderr)
    }

    func testKindMismatch() throws {
        let result = try validate(pipeline(source: "file-sink", sourceConfig: "{ directory: \(dir)/x }"))
        XCTAssertEqual(result.status, 78)
        XCTAssertTrue(result.stderr.contains("pipeline.yaml:3:11: plugin 'file-sink'"), result.stderr)
        XCTAssertTrue(result.stderr.contains("is a sink but operator 'source' needs a source"), result.stderr)
    }

    func testCreateFailureShowsThePluginsMessage() throws {
        let path = try fixture("createfails", ["FIXTURE_CREATE_FAILS"])
        let result = try runProcess(Built.sluice, ["run", pipeline(source: path, extra: "restart: { max_restarts: 0, initial_delay: 10ms }")], expectingRestarts: true)
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("operator 'source' (plugin fixture): cannot reach the moon: connection refused"), result.stderr)
        XCTAssertTrue(result.stderr.contains("giving up after 0 restarts"), result.stderr)
    }

    func testValidateHookErrorPointsAtTheYAMLValue() throws {
        let path = try fixture("validatefails", ["FIXTURE_VALIDATE_FAILS"])
        let result = try validate(pipeline(source: path, sourceConfig: "\n      limits:\n        threshold: 500"))
        XCTAssertEqual(result.status, 78)
        XCTAssertTrue(result.stderr.contains("pipeline.yaml:6:20: operator 'source' (plugin fixture): threshold must be below 100"), result.stderr)
    }

    func testPluginFoundByNameThroughFlagAndEnvironment() throws {
        let pluginDir = dir + "/plugins"
        try FileManager.default.createDirectory(atPath: pluginDir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Built.sequenceSource, toPath: pluginDir + "/libsequence-source.so")
        let path = pipeline(source: "sequence-source", sourceConfig: "{ count: 10 }")
        let viaFlag = try runProcess(Built.sluice, ["validate", "--plugin-path", pluginDir, path])
        XCTAssertEqual(viaFlag.status, 0, viaFlag.output)
        XCTAssertTrue(viaFlag.stdout.contains("source: source sequence-source 1.0.0 (ABI 1.2, \(pluginDir)/libsequence-source.so)"), viaFlag.stdout)
        let viaEnvironment = try runProcess(Built.sluice, ["validate", path], environment: ["SLUICE_PLUGIN_PATH": "/nonexistent:" + pluginDir])
        XCTAssertEqual(viaEnvironment.status, 0, viaEnvironment.output)
        // The sink was found in the folder of the sluice executable.
        XCTAssertTrue(viaEnvironment.stdout.contains("libSluiceFileSink.so"), viaEnvironment.stdout)
    }

    func testInspectShowsDescriptorAndSchema() throws {
        let result = try runProcess(Built.sluice, ["plugins", "inspect", Built.sequenceSource])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.stdout.contains("name:        sequence-source"))
        XCTAssertTrue(result.stdout.contains("kind:        source"))
        XCTAssertTrue(result.stdout.contains("ABI version: 1.2"))
        XCTAssertTrue(result.stdout.contains("\"batch_size\""))
    }

    func testListShowsPluginsBesideTheBinary() throws {
        let result = try runProcess(Built.sluice, ["plugins", "list"])
        XCTAssertEqual(result.status, 0, result.output)
        for name in ["file-sink", "pass-through", "null-sink"] {
            XCTAssertTrue(result.stdout.contains(name), "\(name) missing from:\n\(result.stdout)")
        }
    }
}
