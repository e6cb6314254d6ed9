import Foundation
import SluiceCore

/// Keeps a worker process running the pipeline. A worker that dies (a plugin may segfault)
/// is restarted after an exponential backoff from the pipeline's restart strategy, and
/// resumes from the newest checkpoint. SIGTERM and SIGINT are forwarded to the worker, which
/// stops its source, takes a final checkpoint and exits 0.
///
/// Runs on the main thread; signals arrive on a dispatch queue.
final class Supervisor {
    private let pipelineFile: String
    private let strategy: RestartStrategy
    private let workerArguments: [String]
    private var firstStartArguments: [String]
    private let lock = NSLock()
    private var worker: Process?
    private var stopping = false
    private var signalSources: [DispatchSourceSignal] = []
    private let wakeUp = DispatchSemaphore(value: 0)

    /// - Parameters:
    ///   - workerArguments: passed to every `sluice worker` start.
    ///   - firstStartArguments: passed to the first start only (`--from-savepoint`): a
    ///     restarted worker resumes from the newest checkpoint instead.
    init(pipelineFile: String, strategy: RestartStrategy, workerArguments: [String], firstStartArguments: [String]) {
        self.pipelineFile = pipelineFile
        self.strategy = strategy
        self.workerArguments = workerArguments
        self.firstStartArguments = firstStartArguments
    }

    /// Returns the exit status for `sluice run`.
    func run() -> Int32 {
        installSignalHandlers()
        var failures = 0
        while true {
            let started = Date()
            let process: Process
            do { process = try startWorker() } catch {
                Log.error("cannot start the worker: \(error)")
                return 1
            }
            process.waitUntilExit()
            let ranFor = Date().timeIntervalSince(started)
            let status = process.terminationStatus
            let signaled = process.terminationReason == .uncaughtSignal

            if !signaled && status == 0 { return 0 }
            if !signaled && status == ExitStatus.configuration {
                Log.error("the worker rejected the pipeline configuration; not restarting")
                return status
            }
            if isStopping {
                Log.warn("worker exited with \(describe(status, signaled)) while stopping")
                return 1
            }
            if ranFor >= strategy.resetAfter.seconds { failures = 0 }
            failures += 1
            if let max = strategy.maxRestarts, failures > max {
                Log.error("worker exited with \(describe(status, signaled)); giving up after \(max) restarts (restart.max_restarts)")
                return 1
            }
            let delay = strategy.delay(afterFailures: failures)
            Log.warn("worker exited with \(describe(status, signaled)) after \(String(format: "%.1f", ranFor)) s; restarting in \(String(format: "%.2f", delay.seconds)) s (restart \(failures)\(strategy.maxRestarts.map { " of \($0)" } ?? ""))")
            // Sleeps, but wakes at once for SIGTERM.
            if wakeUp.wait(timeout: .now() + delay.seconds) == .success || isStopping { return 0 }
        }
    }

    private var isStopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopping
    }

    private func startWorker() throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try executablePath())
        process.arguments = ["worker", pipelineFile] + workerArguments + firstStartArguments
        firstStartArguments = []
        lock.lock()
        defer { lock.unlock() }
        if stopping { throw CancellationError() }
        try process.run()
        worker = process
        Log.info("worker started (pid \(process.processIdentifier))")
        return process
    }

    private func executablePath() throws -> String {
        try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    }

    private func installSignalHandlers() {
        // SIGUSR1 asks the worker for a savepoint.
        signal(SIGUSR1, SIG_IGN)
        let savepoint = DispatchSource.makeSignalSource(signal: SIGUSR1, queue: .global())
        savepoint.setEventHandler { [self] in
            lock.lock()
            let pid = worker?.isRunning == true ? worker?.processIdentifier : nil
            lock.unlock()
            if let pid { kill(pid, SIGUSR1) }
        }
        savepoint.resume()
        signalSources.append(savepoint)
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self] in
                lock.lock()
                stopping = true
                let pid = worker?.isRunning == true ? worker?.processIdentifier : nil
                lock.unlock()
                Log.info("received \(sig == SIGINT ? "SIGINT" : "SIGTERM"); asking the worker to stop after a final checkpoint")
                if let pid { kill(pid, SIGTERM) }
                wakeUp.signal()
            }
            source.resume()
            signalSources.append(source)
        }
    }

    private func describe(_ status: Int32, _ signaled: Bool) -> String {
        guard signaled else { return "status \(status)" }
        let names: [Int32: String] = [SIGKILL: "SIGKILL", SIGSEGV: "SIGSEGV", SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGTERM: "SIGTERM", SIGILL: "SIGILL", SIGFPE: "SIGFPE"]
        return "signal \(status) (\(names[status] ?? "?"))"
    }
}

extension Duration {
    var seconds: Double {
        let (s, a) = components
        return Double(s) + Double(a) / 1e18
    }
}
