import ArgumentParser
import CProcessControl
import Foundation
import SluiceCore

/// The process the supervisor keeps alive; runs the pipeline itself.
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Run a pipeline in this process, without a supervisor (used by `sluice run`).",
        shouldDisplay: false)

    @Argument(help: "The pipeline YAML file.") var file: String
    @Option(name: .customLong("from-savepoint"), help: "Resume from this savepoint instead of the newest checkpoint.") var fromSavepoint: String?
    @Option(name: .customLong("restarts"), help: "How many times the supervisor restarted the worker.") var restarts = 0
    @Option(name: .customLong("admin"), help: "Serve the admin API on this host:port (overrides the pipeline's admin.address).") var adminAddress: String?
    @Option(name: .customLong("reload-fd"), help: "Watch the pipeline file (`sluice run --watch`): a change that needs a new worker stops this one with a savepoint, whose name is written to this descriptor before it exits with status 75.") var reloadDescriptor: Int32?
    @OptionGroup var plugins: PluginPathOptions
    @OptionGroup var identity: InstanceOptions

    /// glibc's arenas for the worker's threads, unless `MALLOC_ARENA_MAX` says otherwise. By
    /// default glibc gives each of the worker's busy threads (event loops, operators,
    /// committers) an arena of its own, up to eight per core, each holding its own free memory:
    /// two shared arenas cut the sensors pipeline's peak by 3-4 MB at the same CPU per row
    /// (docs/operations.md).
    static let mallocArenas: Int32 = 2

    func run() throws {
        if getenv("MALLOC_ARENA_MAX") == nil { _ = sluice_limit_malloc_arenas(Self.mallocArenas) }
        StopSignals.install()
        Log.component = "worker[\(getpid())]"
        WorkerParent.dieWithSupervisor()
        // Not handed on to what this process starts (the watch's checks): the supervisor reads
        // the pipe once this process is gone, and a child holding it open would delay that.
        if let reloadDescriptor { _ = fcntl(reloadDescriptor, F_SETFD, FD_CLOEXEC) }
        let plan = try plugins.loadPlan(file)
        let layout = try identity.layout(of: plan.spec)
        let directoryLock: CheckpointDirectoryLock
        do {
            let directory = InstanceFolders.localDirectory(plan.spec.checkpointing, pipeline: plan.spec.name, layout: layout)
            directoryLock = try CheckpointDirectoryLock.inherited(directory: directory)
                ?? CheckpointDirectoryLock.acquire(directory: directory, inheritable: false)
        } catch {
            Log.error("\(error)")
            throw ExitCode.failure
        }
        // Held until the process exits (it ends with _exit, never releasing it early).
        _ = directoryLock
        let worker: Worker
        do {
            worker = try Worker(plan: plan, options: .init(fromSavepoint: fromSavepoint, restarts: restarts,
                                                           adminAddress: adminAddress, searchPath: plugins.searchPath,
                                                           instance: layout.instance, instances: layout.instances))
        } catch {
            Log.error("\(error)")
            throw ExitCode.failure
        }
        let watch = reloadDescriptor.map { _ in
            PipelineWatch(file: file, running: plan.spec, pluginPaths: plugins.pluginPath, layout: layout) { [mailbox = worker.mailbox] in
                mailbox.post(.admin($0))
            }
        }
        switch worker.run() {
        case .finished:
            if let watch, let reloadDescriptor, let savepoint = watch.reloadSavepoint, savepoint == worker.stopSavepoint {
                Log.info("pipeline '\(plan.spec.name)' stopped with savepoint '\(savepoint)' for the changed pipeline file")
                _ = (savepoint + "\n").withCString { write(reloadDescriptor, $0, strlen($0)) }
                fflush(nil)
                _exit(ExitStatus.reload)
            }
            Log.info("pipeline '\(plan.spec.name)' stopped cleanly")
            // Plugin threads have ended; skip global destructors of plugin images.
            fflush(nil)
            _exit(0)
        case .failed(let reason):
            Log.error(reason)
            fflush(nil)
            _exit(1)
        case .misconfigured(let reason):
            Log.error(reason)
            fflush(nil)
            _exit(ExitStatus.configuration)
        }
    }
}
