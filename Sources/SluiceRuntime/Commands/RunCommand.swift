import ArgumentParser
import Foundation
import ProcessSupervision
import SluiceCore

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a pipeline under a supervisor that restarts its worker from the newest checkpoint when it dies.",
        discussion: """
        Environment: SLUICE_INSTANCE=I/N, or SLUICE_INSTANCES=N with the pod name in SLUICE_POD_NAME (else HOSTNAME), \
        set the instance when --instance is not given; SLUICE_ADMIN_TOKEN holds the admin API's bearer token; \
        SLUICE_PLUGIN_PATH adds plugin folders; SLUICE_LOG_FORMAT=json writes JSON log lines; SLUICE_LOG_LEVEL=debug|info|warn|error.
        """)

    @Argument(help: "The pipeline YAML file.") var file: String
    @Option(name: .customLong("from-savepoint"), help: "Resume from this savepoint instead of the newest checkpoint; with another layout (instances, parallelism) than the one that took it, from the savepoints of that name of every old instance (a rescale).") var fromSavepoint: String?
    @Option(name: .customLong("admin"), help: "Serve the admin API on this host:port (default: the pipeline's admin.address; token from $\(AdminSettings.defaultTokenEnvironment) or admin.token_file).") var adminAddress: String?
    @Flag(help: "Apply edits of the pipeline file while it runs: a changed sink is swapped, any other change restarts the worker from a savepoint, an invalid file is rejected.") var watch = false
    @OptionGroup var plugins: PluginPathOptions
    @OptionGroup var identity: InstanceOptions

    func run() throws {
        Log.component = "supervisor[\(getpid())]"
        // Check everything up front, so a wrong pipeline fails here with every error listed
        // instead of in a restart loop; in a child, so no plugin stays loaded in this process.
        let spec: PipelineSpec
        do { spec = try PipelineFileCheck.check(file, pluginPaths: plugins.pluginPath) } catch let rejected as PipelineFileCheck.Rejected {
            if !rejected.description.isEmpty { printError(rejected.description) }
            throw ExitCode(rejected.status)
        }
        let layout = try identity.layout(of: spec)
        let folders: InstanceFolders
        let store: CheckpointStore
        do {
            folders = try InstanceFolders.open(spec.checkpointing, pipeline: spec.name)
            store = try folders.store(layout)
        } catch {
            printError("\(error)")
            throw ExitCode(ExitStatus.configuration)
        }
        if let name = fromSavepoint {
            // A missing savepoint is a configuration error, not a reason to restart.
            do {
                if try folders.savepoints(named: name).isEmpty {
                    _ = try store.savepoint(named: name)
                }
            } catch {
                printError("\(error)")
                throw ExitCode(ExitStatus.configuration)
            }
        }
        // On S3 the lock fences the processes of this machine; across machines, one process
        // per prefix is the deployment's (a StatefulSet's identity).
        let directory = store.localDirectory
        do { try checkAdminSettings(spec) } catch {
            printError("\(error)")
            throw ExitCode(ExitStatus.configuration)
        }
        let directoryLock: CheckpointDirectoryLock
        do {
            // Run again for a reload, this process holds the lock already (the supervisor it
            // was passed it on).
            directoryLock = try CheckpointDirectoryLock.inherited(directory: directory, keepAcrossExec: true)
                ?? CheckpointDirectoryLock.acquire(directory: directory, inheritable: true)
        } catch {
            printError("\(error)")
            throw ExitCode.failure
        }
        let executable: String
        do { executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") } catch {
            printError("cannot find the sluice executable (/proc/self/exe): \(error)")
            throw ExitCode.failure
        }
        let shared = plugins.pluginPath.flatMap { ["--plugin-path", $0] } + ["--instance", "\(layout.instance)/\(layout.instances)"]
            + (adminAddress.map { ["--admin", $0] } ?? [])
        let arguments = SupervisorArguments(
            restart: spec.restart,
            firstStart: fromSavepoint.map { ["--from-savepoint", $0] } ?? [],
            rerun: watch ? [executable, "run", file, "--watch"] + shared : nil,
            worker: [executable, "worker", file] + shared)
        setenv(CheckpointDirectoryLock.environmentKey, String(directoryLock.descriptor), 1)
        setenv(WorkerParent.environmentKey, String(getpid()), 1)
        // Becomes the supervisor: same pid, the lock descriptor still open. What lives beside
        // the worker is then a small executable without Foundation, the pipeline model or
        // any plugin (docs/operations.md, memory).
        let supervisor = URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("sluice-supervisor").path
        fflush(nil)
        let argv = ([supervisor] + arguments.encoded()).map { strdup($0) } + [nil]
        execv(supervisor, argv)
        printError("cannot start the supervisor \(supervisor): \(String(cString: strerror(errno))) (it is installed beside the sluice executable)")
        throw ExitCode.failure
    }

    /// The admin API the workers will serve, checked now so that a wrong address or a missing
    /// token stops `sluice run` instead of every worker: the flag's or the pipeline's address.
    private func checkAdminSettings(_ spec: PipelineSpec) throws {
        guard var settings = spec.admin ?? adminAddress.map({ AdminSettings(address: $0) }) else { return }
        if let adminAddress { settings.address = adminAddress }
        guard settings.hostAndPort != nil else { throw AdminTokenError("admin address '\(settings.address)' is not host:port") }
        _ = try AdminToken.load(settings)
    }
}
