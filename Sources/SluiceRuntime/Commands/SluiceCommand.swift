import ArgumentParser
import SluiceCore

/// The command line; `Sources/sluice/main.swift` runs it.
public struct SluiceCommand: ParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "A small, fast stream-processing host with exactly-once checkpoints.",
        subcommands: [RunCommand.self, ValidateCommand.self, PluginsCommand.self, CheckpointsCommand.self, WorkerCommand.self, ProduceCommand.self,
                      StatusCommand.self, SavepointCommand.self, StopCommand.self, SwapSinkCommand.self])
}

/// Options shared by every command that loads plugins.
struct PluginPathOptions: ParsableArguments {
    @Option(name: .customLong("plugin-path"), help: "A folder to search for plugins named without a path (repeatable; before SLUICE_PLUGIN_PATH and the sluice binary's folder).")
    var pluginPath: [String] = []

    var searchPath: PluginSearchPath { PluginSearchPath(flag: pluginPath) }

    /// Loads and checks a pipeline; on any problem prints every error and exits with 78
    /// (EX_CONFIG), which the supervisor takes as "do not restart".
    func loadPlan(_ file: String) throws -> PipelinePlan {
        do {
            return try PipelinePlan.load(path: file, searchPath: searchPath)
        } catch {
            printError("\(error)")
            throw ExitCode(ExitStatus.configuration)
        }
    }
}
