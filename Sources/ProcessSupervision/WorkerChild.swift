import Glibc

/// A worker process started with `posix_spawn`, the way the supervisor starts every worker.
///
/// The stop signals (SIGTERM, SIGINT, SIGUSR1) are blocked in the new process from its first
/// instruction (posix_spawn's signal mask) and have their default actions. The worker unblocks
/// them once its handlers are installed, so a stop asked for while it is still starting waits
/// for it instead of killing it. The worker stays in the supervisor's process group: a kill of
/// the group from outside reaches both.
///
/// With a reload pipe, the worker gets `--reload-fd N`: the write end of a pipe on which it
/// names its savepoint before it exits with ``WorkerExitStatus/reload``.
struct WorkerChild {
    /// The signals a worker handles itself; blocked until it can.
    static let stopSignals: [Int32] = [SIGTERM, SIGINT, SIGUSR1]

    enum Termination: Equatable {
        case exited(Int32)
        case signaled(Int32)
    }

    let pid: pid_t
    /// The read end of the reload pipe (non-blocking, closed on exec).
    private let reloadPipe: Int32?

    /// Starts `command` (the executable's path, then the arguments) with this process's
    /// environment.
    static func spawn(_ command: [String], reloadPipe wantsPipe: Bool) throws(WorkerChildError) -> WorkerChild {
        var command = command
        var pipeEnds: [Int32] = [-1, -1]
        if wantsPipe {
            guard pipe(&pipeEnds) == 0 else { throw WorkerChildError("cannot create the reload pipe: \(String(cString: strerror(errno)))") }
            _ = fcntl(pipeEnds[0], F_SETFD, FD_CLOEXEC)
            _ = fcntl(pipeEnds[0], F_SETFL, O_NONBLOCK)
            command += ["--reload-fd", String(pipeEnds[1])]
        }
        defer { if wantsPipe { close(pipeEnds[1]) } }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var blocked = sigset_t()
        sigemptyset(&blocked)
        for signal in stopSignals { sigaddset(&blocked, signal) }
        posix_spawnattr_setsigmask(&attributes, &blocked)
        posix_spawnattr_setsigdefault(&attributes, &blocked)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let status = posix_spawn(&pid, command[0], nil, &attributes, argv, environ)
        guard status == 0 else {
            if wantsPipe { close(pipeEnds[0]) }
            throw WorkerChildError("cannot start \(command[0]): \(String(cString: strerror(status)))")
        }
        return WorkerChild(pid: pid, reloadPipe: wantsPipe ? pipeEnds[0] : nil)
    }

    /// Reaps the process if it has ended; nil while it runs. Once it returned a termination,
    /// the pid is no longer this process's: send no signal after that.
    func reapIfEnded() -> Termination? {
        var status: Int32 = 0
        var reaped: pid_t
        repeat { reaped = waitpid(pid, &status, WNOHANG) } while reaped < 0 && errno == EINTR
        guard reaped == pid else { return nil }
        // WIFSIGNALED / WTERMSIG / WEXITSTATUS, which Swift does not import (they are macros).
        let signal = status & 0x7f
        if signal != 0 && signal != 0x7f { return .signaled(signal) }
        return .exited((status >> 8) & 0xff)
    }

    /// The savepoint the worker named on the reload pipe before it exited, and closes the pipe.
    /// Call once, after the worker ended.
    func takeReloadSavepoint() -> String? {
        guard let fd = reloadPipe else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 512)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes += buffer[0..<n]
        }
        let name = String(decoding: bytes, as: UTF8.self).split(separator: "\n").first.map(String.init)
        return name?.isEmpty == false ? name : nil
    }
}

struct WorkerChildError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
