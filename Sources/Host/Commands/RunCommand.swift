import ArgumentParser
import Foundation
import SluiceCore

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a pipeline under a supervisor that restarts its worker from the newest checkpoint when it dies.")

    @Argument(help: "The pipeline YAML file.") var file: String
    @Option(name: .customLong("from-savepoint"), help: "Resume from this savepoint (in checkpointing.directory/savepoints) instead of the newest checkpoint.") var fromSavepoint: String?
    @OptionGroup var plugins: PluginPathOptions

    func run() throws {
        Log.component = "supervisor[\(getpid())]"
        // Check everything up front, so a wrong pipeline fails here with every error listed
        // instead of in a restart loop.
        let plan = try plugins.loadPlan(file)
        if let name = fromSavepoint {
            // A missing savepoint is a configuration error, not a reason to restart.
            do { _ = try CheckpointStore(directory: plan.spec.checkpointing.directory).savepoint(named: name) } catch {
                printError("\(error)")
                throw ExitCode(ExitStatus.configuration)
            }
        }
        let pathArguments = plugins.pluginPath.flatMap { ["--plugin-path", $0] }
        let supervisor = Supervisor(pipelineFile: file, strategy: plan.spec.restart, workerArguments: pathArguments,
                                    firstStartArguments: fromSavepoint.map { ["--from-savepoint", $0] } ?? [])
        let status = supervisor.run()
        if status != 0 { throw ExitCode(status) }
    }
}
