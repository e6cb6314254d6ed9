import Foundation
import SluiceCore

/// Keeps a worker process running the pipeline. A worker that dies (a plugin may segfault, an
/// operator may kill it) is restarted at once and resumes from the newest checkpoint; only a
/// crash loop (deaths soon after starting) backs off, as the pipeline's restart strategy says.
/// The supervisor holds the checkpoint directory's lock, and its workers die with it. SIGTERM and SIGINT are forwarded to the worker, which
/// stops its source, takes a final checkpoint and exits 0. SIGUSR1 is forwarded too (a
/// savepoint). With `--watch`, edits of the pipeline file are applied while it runs.
///
/// `run()` runs on the main thread; signals and the file watcher run on dispatch queues.
final class Supervisor {
    struct Options {
        var pipelineFile: String
        /// Passed to every `sluice worker` start (plugin paths).
        var workerArguments: [String]
        /// `--from-savepoint` for the first start only: a restarted worker resumes from the
        /// newest checkpoint instead.
        var fromSavepoint: String?
        /// The admin API the workers serve, if any: where the supervisor reaches them.
        var admin: AdminEndpoint?
        var watch: Bool
    }

    /// Where the worker's admin API listens, and the environment that gives it its token.
    struct AdminEndpoint {
        var address: String
        var token: String
        /// Set in the worker's environment (an internal endpoint's generated token).
        var environment: [String: String]
        /// The worker needs `--admin ADDRESS` (the pipeline file does not name it).
        var passAddress: Bool
    }

    private let options: Options
    /// Read on the main thread, replaced by the watcher's queue: under `lock`.
    private var currentSpec: PipelineSpec
    private let lock = NSLock()
    private var worker: WorkerProcess?
    private var stopping = false
    /// Set by the watcher before it stops the worker for a reload: the savepoint to resume from.
    private var reloadSavepoint: String?
    private var signalSources: [DispatchSourceSignal] = []
    private var watcher: ConfigWatcher?
    private let wakeUp = DispatchSemaphore(value: 0)
    /// The checkpoint directory's lock, held for the supervisor's life and handed to workers.
    private let directoryLock: CheckpointDirectoryLock

    init(spec: PipelineSpec, options: Options, directoryLock: CheckpointDirectoryLock) {
        self.currentSpec = spec
        self.options = options
        self.directoryLock = directoryLock
    }

    private var spec: PipelineSpec {
        get { lock.withLock { currentSpec } }
        set { lock.withLock { currentSpec = newValue } }
    }

    /// Returns the exit status for `sluice run`. Main thread: every worker is spawned here, so
    /// their parent-death signal (set on this thread) fires only when the supervisor dies.
    func run() -> Int32 {
        installSignalHandlers()
        if options.watch { startWatching() }
        var failures = 0, restarts = 0
        var nextStart = options.fromSavepoint.map { ["--from-savepoint", $0] } ?? []
        while true {
            let started = Date()
            let process: WorkerProcess
            do { process = try startWorker(extra: nextStart + ["--restarts", String(restarts)]) } catch is CancellationError {
                return 0
            } catch {
                Log.error("cannot start the worker: \(error)")
                return 1
            }
            nextStart = []
            let termination = process.wait()
            let ranFor = Date().timeIntervalSince(started)
            lock.withLock { worker = nil }

            if let savepoint = takeReload() {
                if termination == .exited(0) {
                    Log.info("restarting the worker with the changed pipeline from savepoint '\(savepoint)'")
                    nextStart = ["--from-savepoint", savepoint]
                } else {
                    Log.warn("the worker exited with \(describe(termination)) while stopping for a reload; restarting it with the changed pipeline from the newest checkpoint")
                }
                continue
            }
            if termination == .exited(0) { return 0 }
            if termination == .exited(ExitStatus.configuration) {
                Log.error("the worker failed in a way a restart cannot fix (the pipeline configuration, or input the sink cannot take; see the error above); not restarting")
                return ExitStatus.configuration
            }
            if isStopping {
                Log.warn("worker exited with \(describe(termination)) while stopping")
                return 1
            }
            let strategy = spec.restart
            let next = strategy.afterDeath(ranFor: .milliseconds(Int64(ranFor * 1000)), failures: failures)
            failures = next.failures
            restarts += 1
            if let max = strategy.maxRestarts, failures > max {
                Log.error("worker exited with \(describe(termination)); giving up after \(max) restarts (restart.max_restarts)")
                return 1
            }
            let ran = String(format: "%.1f", ranFor)
            guard next.delay > .zero else {
                Log.warn("worker exited with \(describe(termination)) after \(ran) s; restarting it now from the newest checkpoint")
                continue
            }
            Log.warn("worker exited with \(describe(termination)) after \(ran) s, less than restart.reset_after: restarting in \(String(format: "%.2f", next.delay.seconds)) s (crash loop: quick death \(failures)\(strategy.maxRestarts.map { " of at most \($0)" } ?? ""))")
            // Sleeps, but wakes at once for SIGTERM.
            if wakeUp.wait(timeout: .now() + next.delay.seconds) == .success || isStopping { return 0 }
        }
    }

    private var isStopping: Bool {
        lock.withLock { stopping }
    }

    private func takeReload() -> String? {
        lock.withLock {
            let savepoint = reloadSavepoint
            reloadSavepoint = nil
            return savepoint
        }
    }

    private func startWorker(extra: [String]) throws -> WorkerProcess {
        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        var arguments = ["worker", options.pipelineFile] + options.workerArguments + extra
        var environment = ProcessInfo.processInfo.environment
        if let admin = options.admin {
            if admin.passAddress { arguments += ["--admin", admin.address] }
            environment.merge(admin.environment) { $1 }
        }
        environment[CheckpointDirectoryLock.environmentKey] = String(directoryLock.descriptor)
        environment[WorkerParent.environmentKey] = String(getpid())
        return try lock.withLock {
            if stopping { throw CancellationError() }
            let process = try WorkerProcess.spawn(executable: executable, arguments: arguments, environment: environment)
            worker = process
            Log.info("worker started (pid \(process.pid))")
            return process
        }
    }

    // MARK: - Watching the pipeline file

    private func startWatching() {
        guard let admin = options.admin else { return }
        let client = AdminClient(baseURL: "http://\(admin.address)", token: admin.token)
        watcher = ConfigWatcher(path: options.pipelineFile) { [self] in apply(client: client) }
        Log.info("watching \(options.pipelineFile) for changes")
    }

    /// Called by the watcher when the file's content changed.
    private func apply(client: AdminClient) {
        let newSpec: PipelineSpec
        do {
            newSpec = try PipelineFileCheck.check(options.pipelineFile, pluginPaths: pluginPaths)
        } catch {
            Log.error("the changed pipeline file is rejected; the running pipeline goes on unchanged:\n\(error)")
            return
        }
        switch PipelineChange.between(spec, newSpec) {
        case .nothing:
            Log.info("\(options.pipelineFile) changed, but not in a way that matters to the running pipeline")
        case .sinkOnly:
            Log.info("only the sink changed in \(options.pipelineFile): swapping it without a restart")
            do {
                let answer = try client.json("POST", "/sink", body: ["pipeline_file": options.pipelineFile], timeout: 600)
                spec = newSpec
                Log.info("sink swapped to \(answer["to"] ?? "?") after checkpoint \(answer["checkpoint"] ?? "?")")
            } catch {
                Log.error("the sink swap failed, the running pipeline goes on with its sink: \(error)")
            }
        case .restartNeeded(let parts):
            let name = "reload-" + savepointTimestamp()
            Log.info("\(parts.joined(separator: ", ")) changed in \(options.pipelineFile): stopping the worker with savepoint '\(name)' and restarting it")
            lock.withLock { reloadSavepoint = name }
            do {
                _ = try client.json("POST", "/stop", body: ["savepoint": name], timeout: 600)
                spec = newSpec
            } catch {
                Log.error("stopping the worker for the reload failed (\(error)); the running pipeline goes on unchanged")
                lock.withLock { reloadSavepoint = nil }
            }
        }
    }

    private var pluginPaths: [String] {
        stride(from: 0, to: options.workerArguments.count - 1, by: 2).compactMap {
            options.workerArguments[$0] == "--plugin-path" ? options.workerArguments[$0 + 1] : nil
        }
    }

    // MARK: - Signals

    private func installSignalHandlers() {
        // SIGUSR1 asks the worker for a savepoint.
        signal(SIGUSR1, SIG_IGN)
        let savepoint = DispatchSource.makeSignalSource(signal: SIGUSR1, queue: .global())
        savepoint.setEventHandler { [self] in
            runningWorker()?.signal(SIGUSR1)
        }
        savepoint.resume()
        signalSources.append(savepoint)
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in
                lock.withLock { stopping = true }
                Log.info("received \(sig == SIGINT ? "SIGINT" : "SIGTERM"); asking the worker to stop after a final checkpoint")
                runningWorker()?.signal(SIGTERM)
                wakeUp.signal()
            }
            source.resume()
            signalSources.append(source)
        }
    }

    private func runningWorker() -> WorkerProcess? {
        lock.withLock { worker }
    }

    private func describe(_ termination: WorkerProcess.Termination) -> String {
        switch termination {
        case .exited(let status): return "status \(status)"
        case .signaled(let signal):
            let names: [Int32: String] = [SIGKILL: "SIGKILL", SIGSEGV: "SIGSEGV", SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGTERM: "SIGTERM", SIGILL: "SIGILL", SIGFPE: "SIGFPE"]
            return "signal \(signal) (\(names[signal] ?? "?"))"
        }
    }
}

extension Duration {
    var seconds: Double {
        let (s, a) = components
        return Double(s) + Double(a) / 1e18
    }
}
