import ArgumentParser
import PluginABI
import Foundation
import Glibc
import ProcessSupervision
import SluiceCore

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a pipeline file: YAML, plugins, and each plugin's configuration, without connecting anywhere.")

    @Argument(help: "The pipeline YAML file.") var file: String
    @Flag(name: .customLong("connect"), help: "Also create and open every plugin instance (connecting to its services, checking tables and column mappings), then close it; no data flows.")
    var connect = false
    @OptionGroup var plugins: PluginPathOptions

    func run() throws {
        let plan = try plugins.loadPlan(file)
        print("\(file): pipeline '\(plan.spec.name)' is valid")
        for (op, plugin) in zip(plan.spec.operators, plan.plugins) {
            print("  \(op.name): \(plugin.kind.rawValue) \(plugin.name) \(plugin.version) (ABI \(plugin.abiVersionString), \(plugin.originalPath))")
            print("    config: \(SecretRedaction.redactedJSON(op.config))")
            if let fields = plan.schemas.outputs[op.name] {
                print("    emits: \(fields.map(\.description).joined(separator: ", "))")
            }
        }
        for note in plan.schemas.notes { print("  \(note)") }
        let c = plan.spec.checkpointing
        print("  checkpointing: \(c.mode.rawValue), every \(c.interval.map { "\($0)" } ?? "off"), keep \(c.retained), in \(c.directory)")
        if connect { try openEveryPlugin(plan) }
    }

    /// `--connect`: creates each instance with a throw-away state directory, opens it as a check
    /// (each endpoint tried once, no retries: `SLUICE_OPEN_CHECK`) and closes it, and reports
    /// every failure with its operator's name. Exits 78 (EX_CONFIG) when one failed.
    private func openEveryPlugin(_ plan: PipelinePlan) throws {
        let stateRoot = NSTemporaryDirectory() + "sluice-validate-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: stateRoot) }
        var failures: [String] = []
        if plan.spec.checkpointing.isObjectStore {
            // Credentials are looked up and the bucket listed once: a wrong key, a missing
            // bucket or an unreachable store is one line here, not a crash loop later.
            do {
                let storage = try S3CheckpointStorage.open(directory: plan.spec.checkpointing.directory, settings: plan.spec.checkpointing.objectStore,
                                                           attempts: 1)
                try storage.checkReachable()
                print("  checkpointing: \(storage.root) reachable with \(storage.client.configuration.credentials)")
            } catch {
                failures.append("\(error)")
            }
        }
        for (op, plugin) in zip(plan.spec.operators, plan.plugins) {
            let stateDirectory = stateRoot + "/" + op.name
            let upstream = op.role == .sink ? plan.sinkInputForCheck(plugin) : nil
            do {
                try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
                let context = HostContext(operatorName: op.name, pluginName: plugin.name, hasDeadLetterOutput: plan.spec.deadLetter != nil,
                                          staging: try LocalStagingArea(directory: stateDirectory))
                let instance = try PluginInstance(plugin: plugin, configJSON: upstream?.configJSON ?? op.configJSON, context: context,
                                                  stateDirectory: stateDirectory, deliveryMode: plan.spec.checkpointing.mode,
                                                  pipelineName: plan.spec.name, openPurpose: SLUICE_OPEN_CHECK)
                defer { instance.destroy() }
                try instance.open()
                try instance.close()
                print("  \(op.name): connected (open and close succeeded)\(upstream == nil ? "" : "; the columns reaching it fit the table")")
            } catch let error as OperatorError {
                failures.append(upstream.flatMap { plan.locateInputColumnError(error, upstream: $0) } ?? "\(error)")
            } catch {
                failures.append("\(error)")
            }
        }
        guard failures.isEmpty else {
            for failure in failures { printError(failure) }
            throw ExitCode(ExitStatus.configuration)
        }
    }
}

/// Exit codes the supervisor understands.
/// The exit statuses with a meaning for the supervisor, defined where the supervisor reads them.
typealias ExitStatus = WorkerExitStatus

func printError(_ message: String) {
    var stderr = StandardError()
    print(message, to: &stderr)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        string.withCString { _ = fputs($0, Glibc.stderr) }
    }
}
