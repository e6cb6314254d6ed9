import ArgumentParser
import SluiceCore

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a pipeline file: YAML, plugins, and each plugin's configuration, without connecting anywhere.")

    @Argument(help: "The pipeline YAML file.") var file: String
    @OptionGroup var plugins: PluginPathOptions

    func run() throws {
        let plan = try plugins.loadPlan(file)
        print("\(file): pipeline '\(plan.spec.name)' is valid")
        for (op, plugin) in zip(plan.spec.operators, plan.plugins) {
            print("  \(op.name): \(plugin.kind.rawValue) \(plugin.name) \(plugin.version) (ABI \(plugin.abiVersionString), \(plugin.originalPath))")
            print("    config: \(SecretRedaction.redactedJSON(op.config))")
        }
        let c = plan.spec.checkpointing
        print("  checkpointing: \(c.mode.rawValue), every \(c.interval.map { "\($0)" } ?? "off"), keep \(c.retained), in \(c.directory)")
    }
}

/// Exit codes the supervisor understands.
enum ExitStatus {
    /// EX_CONFIG: the pipeline is wrong; restarting will not help.
    static let configuration: Int32 = 78
}

func printError(_ message: String) {
    var stderr = StandardError()
    print(message, to: &stderr)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        string.withCString { _ = fputs($0, Glibc.stderr) }
    }
}

import Glibc
