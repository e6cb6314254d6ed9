import Glibc
import RestartPolicy

/// Keeps a worker process running the pipeline. A worker that dies (a plugin may segfault, an
/// operator may kill it) is restarted at once and resumes from the newest checkpoint; only a
/// crash loop (deaths soon after starting) backs off, as the pipeline's restart policy says.
///
/// SIGTERM and SIGINT are forwarded to the worker, which stops its source, takes a final
/// checkpoint and exits 0; SIGUSR1 is forwarded too (a savepoint). A worker that stopped for a
/// reload (`--watch`) is followed by `sluice run` again, in this process, from its savepoint.
///
/// One thread, no Foundation: the signals (SIGCHLD among them) stay blocked and are taken with
/// `sigwaitinfo`, so nothing runs concurrently, a signal that arrives between two steps waits
/// for the next, and the process that lives beside the worker holds a few MB. The worker's
/// parent-death signal follows the thread that spawned it, which is this one, for the
/// process's life. The checkpoint directory's lock descriptor, opened by `sluice run`, is
/// inherited by every worker.
public final class Supervisor {
    private let arguments: SupervisorArguments
    private let log: SupervisorLog
    private var stopping = false
    /// Every signal the supervisor takes; blocked for its whole life.
    private var handled = sigset_t()

    public init(arguments: SupervisorArguments, log: SupervisorLog) {
        self.arguments = arguments
        self.log = log
        sigemptyset(&handled)
        for signal in WorkerChild.stopSignals + [SIGCHLD] { sigaddset(&handled, signal) }
    }

    /// Returns the exit status for `sluice run`, unless a reload replaced this process.
    public func run() -> Int32 {
        pthread_sigmask(SIG_BLOCK, &handled, nil)
        var failures = 0, restarts = 0
        var extra = arguments.firstStart
        while true {
            // A stop that arrived before this start (while `sluice run` checked the file, or
            // during a restart) ends here, before a worker exists.
            if takeSignals(forSeconds: 0) { return 0 }
            let started = monotonicSeconds()
            let worker: WorkerChild
            do { worker = try WorkerChild.spawn(arguments.worker + extra + ["--restarts", String(restarts)], reloadPipe: arguments.rerun != nil) } catch {
                log.error("cannot start the worker: \(error)")
                return 1
            }
            log.info("worker started (pid \(worker.pid))")
            extra = []
            let termination = wait(for: worker)
            let ranFor = monotonicSeconds() - started
            let reloadSavepoint = worker.takeReloadSavepoint()

            if termination == .exited(WorkerExitStatus.reload), let savepoint = reloadSavepoint, let rerun = arguments.rerun {
                if stopping { return 0 }
                log.info("restarting the worker with the changed pipeline from savepoint '\(savepoint)'")
                return replace(with: rerun + ["--from-savepoint", savepoint])
            }
            if termination == .exited(0) { return 0 }
            if termination == .exited(WorkerExitStatus.configuration) {
                log.error("the worker failed in a way a restart cannot fix (the pipeline configuration, or input the sink cannot take; see the error above); not restarting")
                return WorkerExitStatus.configuration
            }
            if stopping {
                log.warn("worker exited with \(describe(termination)) while stopping")
                return 1
            }
            let strategy = arguments.restart
            let next = strategy.afterDeath(ranFor: .milliseconds(Int64(ranFor * 1000)), failures: failures)
            failures = next.failures
            restarts += 1
            if let max = strategy.maxRestarts, failures > max {
                log.error("worker exited with \(describe(termination)); giving up after \(max) restarts (restart.max_restarts)")
                return 1
            }
            let ran = LogLine.fixed(ranFor, decimals: 1)
            guard next.delay > .zero else {
                log.warn("worker exited with \(describe(termination)) after \(ran) s; restarting it now from the newest checkpoint")
                continue
            }
            let delay = next.delay.fractionalSeconds
            log.warn("worker exited with \(describe(termination)) after \(ran) s, less than restart.reset_after: restarting in \(LogLine.fixed(delay, decimals: 2)) s (crash loop: quick death \(failures)\(strategy.maxRestarts.map { " of at most \($0)" } ?? ""))")
            // Sleeps, but wakes at once for SIGTERM.
            if takeSignals(forSeconds: delay) { return 0 }
        }
    }

    /// Forwards signals to `worker` until it ends; returns how it ended.
    private func wait(for worker: WorkerChild) -> WorkerChild.Termination {
        var info = siginfo_t()
        while true {
            let signal = sigwaitinfo(&handled, &info)
            switch signal {
            case SIGCHLD:
                if let termination = worker.reapIfEnded() { return termination }
            case SIGTERM, SIGINT:
                stopping = true
                log.info("received \(signal == SIGINT ? "SIGINT" : "SIGTERM"); asking the worker to stop after a final checkpoint")
                kill(worker.pid, SIGTERM)
            case SIGUSR1:
                kill(worker.pid, SIGUSR1)
            default:
                break  // EINTR
            }
        }
    }

    /// Waits up to `seconds` for SIGTERM or SIGINT while no worker runs (0: only looks at the
    /// pending ones); true when one came. Other signals are dropped: there is no worker to
    /// forward them to.
    private func takeSignals(forSeconds seconds: Double) -> Bool {
        let deadline = monotonicSeconds() + seconds
        var info = siginfo_t()
        while true {
            let left = max(0, deadline - monotonicSeconds())
            var timeout = timespec(tv_sec: Int(left), tv_nsec: Int((left - left.rounded(.down)) * 1e9))
            let signal = sigtimedwait(&handled, &info, &timeout)
            if signal == SIGTERM || signal == SIGINT {
                stopping = true
                log.info("received \(signal == SIGINT ? "SIGINT" : "SIGTERM") while no worker runs; stopping")
                return true
            }
            if signal < 0 && errno == EAGAIN { return false }
        }
    }

    /// Execs `command` in this process (same pid, so the next worker's parent is still this
    /// process, and the lock descriptor stays open), with the stop signals still blocked: one
    /// sent meanwhile waits for the supervisor that `command` becomes. Returns only on failure.
    private func replace(with command: [String]) -> Int32 {
        var keepBlocked = sigset_t()
        sigemptyset(&keepBlocked)
        for signal in WorkerChild.stopSignals { sigaddset(&keepBlocked, signal) }
        pthread_sigmask(SIG_SETMASK, &keepBlocked, nil)
        let argv = command.map { strdup($0) } + [nil]
        execv(command[0], argv)
        log.error("cannot run \(command.joined(separator: " ")) for the reload: \(String(cString: strerror(errno)))")
        return 1
    }

    private func describe(_ termination: WorkerChild.Termination) -> String {
        switch termination {
        case .exited(let status): return "status \(status)"
        case .signaled(let signal):
            let names: [Int32: String] = [SIGKILL: "SIGKILL", SIGSEGV: "SIGSEGV", SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGTERM: "SIGTERM", SIGILL: "SIGILL", SIGFPE: "SIGFPE"]
            return "signal \(signal) (\(names[signal] ?? "?"))"
        }
    }

    private func monotonicSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
