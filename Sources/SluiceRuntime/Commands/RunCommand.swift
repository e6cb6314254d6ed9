import ArgumentParser
import Foundation
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
        let admin: Supervisor.AdminEndpoint?
        do { admin = try adminEndpoint(spec) } catch {
            printError("\(error)")
            throw ExitCode(ExitStatus.configuration)
        }
        let directoryLock: CheckpointDirectoryLock
        do { directoryLock = try CheckpointDirectoryLock.acquire(directory: directory, inheritable: true) } catch {
            printError("\(error)")
            throw ExitCode.failure
        }
        let supervisor = Supervisor(spec: spec, options: .init(
            pipelineFile: file,
            workerArguments: plugins.pluginPath.flatMap { ["--plugin-path", $0] } + ["--instance", "\(layout.instance)/\(layout.instances)"],
            fromSavepoint: fromSavepoint, admin: admin, watch: watch), directoryLock: directoryLock)
        let status = supervisor.run()
        if status != 0 { throw ExitCode(status) }
    }

    /// The admin API the workers will serve: the flag's or the pipeline's address with its
    /// token; for `--watch` without one, an internal endpoint on a free loopback port with a
    /// generated token, so the supervisor can swap sinks and take savepoints.
    private func adminEndpoint(_ spec: PipelineSpec) throws -> Supervisor.AdminEndpoint? {
        if var settings = spec.admin ?? adminAddress.map({ AdminSettings(address: $0) }) {
            if let adminAddress { settings.address = adminAddress }
            guard settings.hostAndPort != nil else { throw AdminTokenError("admin address '\(settings.address)' is not host:port") }
            let token = try AdminToken.load(settings)
            return .init(address: settings.address, token: token.secret, environment: [:], passAddress: adminAddress != nil)
        }
        guard watch else { return nil }
        let token = UUID().uuidString + UUID().uuidString
        return .init(address: "127.0.0.1:\(try freeLoopbackPort())", token: token,
                     environment: [AdminSettings.defaultTokenEnvironment: token], passAddress: true)
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
func freeLoopbackPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    guard bound == 0 else { throw AdminTokenError("cannot find a free loopback port: \(String(cString: strerror(errno)))") }
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}
