import Foundation
import Glibc

/// A worker process started with `posix_spawn`, the way the supervisor starts every worker.
///
/// The stop signals (SIGTERM, SIGINT, SIGUSR1) are blocked in the new process from its first
/// instruction (posix_spawn's signal mask) and reset to their default actions (the supervisor
/// ignores them itself). The worker unblocks them once its handlers are installed
/// (`StopSignals.install`), so a stop asked for while it is still starting waits for it instead
/// of killing it. The worker stays in the supervisor's process group: a kill of the group from
/// outside reaches both.
///
/// Thread-safe: `wait` on one thread (the supervisor's main thread, which must also be the one
/// that spawned it: the worker's parent-death signal follows that thread); `signal` from any.
// @unchecked Sendable: `pid` is immutable and the termination state is kept under `lock`.
final class WorkerProcess: @unchecked Sendable {
    /// The signals a worker handles itself; blocked until it can.
    static let stopSignals: [Int32] = [SIGTERM, SIGINT, SIGUSR1]

    enum Termination: Equatable {
        case exited(Int32)
        case signaled(Int32)
    }

    let pid: pid_t
    private let lock = NSLock()
    private var reaped = false

    private init(pid: pid_t) {
        self.pid = pid
    }

    /// Starts `executable` with `arguments` (without argv[0]) and `environment`.
    static func spawn(executable: String, arguments: [String], environment: [String: String]) throws -> WorkerProcess {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var blocked = sigset_t()
        sigemptyset(&blocked)
        for signal in stopSignals { sigaddset(&blocked, signal) }
        posix_spawnattr_setsigmask(&attributes, &blocked)
        posix_spawnattr_setsigdefault(&attributes, &blocked)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid = pid_t()
        let status = posix_spawn(&pid, executable, nil, &attributes, argv, envp)
        guard status == 0 else {
            throw WorkerProcessError("cannot start \(executable): \(String(cString: strerror(status)))")
        }
        return WorkerProcess(pid: pid)
    }

    /// Blocks until the process ends and reaps it.
    func wait() -> Termination {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        lock.withLock { reaped = true }
        // WIFSIGNALED / WTERMSIG / WEXITSTATUS, which Swift does not import (they are macros).
        let signal = status & 0x7f
        if signal != 0 && signal != 0x7f { return .signaled(signal) }
        return .exited((status >> 8) & 0xff)
    }

    /// Sends `signal` unless the process was reaped already (a reaped pid may be reused; an
    /// unreaped one, even a zombie, is still this process).
    func signal(_ signal: Int32) {
        lock.withLock {
            if !reaped { kill(pid, signal) }
        }
    }
}

struct WorkerProcessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
