import Foundation
import Glibc
import PluginABI
import SluiceCore
import CCheckProbes

/// What `sluice plugins check` was asked to check.
public struct CheckOptions {
    public var pluginPath: String
    /// The plugin's configuration file (YAML or JSON mapping; `${VAR}` interpolated), or nil for `{}`.
    public var configFile: String?
    /// A configuration with which `open` fails, for the destroy-after-failed-open check.
    public var failingConfigFile: String?
    /// What sinks and transforms are fed.
    public var inputColumns: [InputColumn]
    /// How many batches to take from a source.
    public var sourceBatches: Int
    /// Whether a source's next batch after a restore must equal the one after the snapshot.
    public var deterministic: Bool
    /// A scratch directory: the checker's working directory and the instances' state.
    public var workDirectory: String

    public init(pluginPath: String, configFile: String? = nil, failingConfigFile: String? = nil,
                inputColumns: [InputColumn] = InputColumn.defaults, sourceBatches: Int = 40,
                deterministic: Bool = true, workDirectory: String) {
        self.pluginPath = pluginPath
        self.configFile = configFile
        self.failingConfigFile = failingConfigFile
        self.inputColumns = inputColumns
        self.sourceBatches = sourceBatches
        self.deterministic = deterministic
        self.workDirectory = workDirectory
    }
}

/// Runs a plugin through the ABI contract, check by check, in this process: run it in a
/// child (`sluice plugins check` does) so that a crash is reported rather than suffered.
///
/// `announce` is called before each check starts and `report` after it ends, from the thread
/// that runs it. Static checks (handshake, descriptor, validate_config, output_schema) run on the
/// calling thread, as the host runs them on its main thread; instance checks run on a separate
/// operator thread.
public final class ConformanceRunner {
    let options: CheckOptions
    let announce: (String) -> Void
    let report: (CheckResult) -> Void

    var entry: sluice_plugin_entry_fn?
    var plugin: CheckedPlugin?
    /// False once the lifecycle check failed: the checks after it need working instances.
    var instancesWork = true
    /// Every instance made, for callbacks that arrive after destroy.
    var instances: [CheckedInstance] = []
    var configJSON = "{}"
    var configLabel = "{} (no --config)"
    var failingConfigJSON: String?
    /// The columns `output_schema` declared for the batches this plugin emits.
    var declared: [DeclaredColumn]?
    var instanceCount = 0
    /// Problems of the ownership, leak and thread checks, gathered while other checks run.
    var ownershipProblems: [String] = []
    var threadProblems: [String] = []

    public init(options: CheckOptions, announce: @escaping (String) -> Void, report: @escaping (CheckResult) -> Void) {
        self.options = options
        self.announce = announce
        self.report = report
        ReleaseLedger.shared.columnNames = options.inputColumns.map(\.name)
    }

    /// Call first thing in the checking process, before any thread starts: the leak check
    /// reads glibc's counters, which cover every thread only with one arena.
    public static func useSingleMallocArena() { sluice_check_use_single_arena() }

    /// Runs every check; returns false when any failed.
    public func run() -> Bool {
        // Written by the operator thread only while this thread waits for it.
        nonisolated(unsafe) var failed = false
        let report = self.report
        let record: @Sendable (CheckResult) -> Void = { result in
            if result.outcome == .failed { failed = true }
            report(result)
        }
        for step in staticSteps {
            announce(step.id)
            let result = step.run()
            record(result)
            if result.outcome == .failed && step.stopsOnFailure { return false }
        }
        // Instance checks on an operator thread of their own, as the host runs them.
        let done = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            for step in instanceSteps {
                announce(step.id)
                record(step.run())
            }
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
        done.wait()
        return !failed
    }

    struct Step {
        var id: String
        var stopsOnFailure = false
        var run: () -> CheckResult
    }

    var staticSteps: [Step] {
        [Step(id: "load", stopsOnFailure: true, run: checkLoad),
         Step(id: "handshake", stopsOnFailure: true, run: checkHandshake),
         Step(id: "descriptor", stopsOnFailure: true, run: checkDescriptor),
         Step(id: "config-schema", stopsOnFailure: true, run: checkConfigSchema),
         Step(id: "validate-config", run: checkValidateConfig),
         Step(id: "output-schema", run: checkOutputSchema)]
    }

    var instanceSteps: [Step] {
        [Step(id: "lifecycle", run: checkLifecycle),
         Step(id: "open-failure", run: checkOpenFailure),
         Step(id: "data", run: checkData),
         Step(id: "checkpoints", run: checkCheckpoints),
         Step(id: "leaks", run: checkLeaks),
         Step(id: "ownership", run: checkOwnership),
         Step(id: "threads", run: checkThreads)]
    }

    // MARK: - Shared helpers

    var hostABIVersion: UInt32 { UInt32(SLUICE_ABI_VERSION_MAJOR << 16 | SLUICE_ABI_VERSION_MINOR) }

    /// A new instance with its own host and state directory.
    func makeInstance() -> CheckedInstance {
        instanceCount += 1
        let state = options.workDirectory + "/state-\(instanceCount)"
        try? FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        let instance = CheckedInstance(plugin: plugin!, host: CheckHost(operatorName: "checked-\(instanceCount)", stateDirectory: state))
        instances.append(instance)
        return instance
    }

    /// Destroys `instance` and files what it left behind under ownership and threads.
    func finish(_ instance: CheckedInstance) {
        for label in instance.destroy() {
            ownershipProblems.append("\(label) was not released by the time destroy returned")
        }
        collectViolations(from: instance)
    }

    func collectViolations(from instance: CheckedInstance) {
        ownershipProblems += ReleaseLedger.shared.takeViolations()
        threadProblems += instance.host.takeViolations()
        threadProblems += CheckHost.takeStrayCallbacks()
    }

    /// The input schema a transform is described with: the checker's input columns.
    func withInputSchema<T>(_ body: (UnsafePointer<ArrowSchema>?) -> T) -> T {
        guard plugin?.kind == SLUICE_KIND_TRANSFORM else { return body(nil) }
        let schema = UnsafeMutablePointer<ArrowSchema>.allocate(capacity: 1)
        let array = UnsafeMutablePointer<ArrowArray>.allocate(capacity: 1)
        defer { schema.deallocate(); array.deallocate() }
        _ = TestBatches.make(BatchShape(name: "schema only", rows: 0), number: 0, columns: options.inputColumns, schema: schema, array: array)
        defer { schema.pointee.release?(schema); array.pointee.release?(array) }
        return body(UnsafePointer(schema))
    }
}
