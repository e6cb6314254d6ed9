import ArgumentParser
import SluiceCore

@main
struct SluiceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "A small, fast stream-processing host with exactly-once checkpoints.",
        subcommands: [RunCommand.self, ValidateCommand.self, PluginsCommand.self, CheckpointsCommand.self, WorkerCommand.self])
}

/// Options shared by every command that loads plugins.
struct PluginPathOptions: ParsableArguments {
    @Option(name: .customLong("plugin-path"), help: "A folder to search for plugins named without a path (repeatable; before SLUICE_PLUGIN_PATH and the sluice binary's folder).")
    var pluginPath: [String] = []

    var searchPath: PluginSearchPath { PluginSearchPath(flag: pluginPath) }
}
