import Dispatch
import Glibc
import NIOCore

/// Ends a broker connection with a FIN even when the process that owns it is killed.
///
/// Why: a process killed with SIGKILL has its sockets closed by the kernel, and a socket closed
/// with unread bytes in its receive queue (a consumer always has some: the broker keeps pushing
/// up to the flow permits) is answered with a TCP RST, not a FIN. pulsar-lite 0.2.0 handles a
/// read that fails with ECONNRESET by logging "Connection reset by peer" and dropping the
/// connection *without* removing its consumers (a clean EOF removes them: "Cleaning up
/// connection: 0 producers, 1 consumers"). An Exclusive or Failover subscription then keeps a
/// dead consumer forever: every later SUBSCRIBE is refused with "Exclusive subscription already
/// has a consumer" (and the connection closed), no keep-alive can notice it (its connection task
/// is gone), and CLOSE_CONSUMER cannot reach it from another connection. A restarted worker
/// could never resume.
///
/// So the client connects the socket itself and forks a guardian: a tiny child that holds a
/// second descriptor of the same socket and a pipe from its parent. The TCP connection stays
/// open as long as either holds it. When the parent closes its end of the pipe — because the
/// channel closed, or because the kernel closed every descriptor of a killed process — the
/// guardian half-closes the connection (`shutdown(SHUT_WR)`: a FIN, so the broker reads a clean
/// EOF and drops the consumers), reads and discards whatever the broker still sends until the
/// broker closes its side (at most `drainMilliseconds`), closes the socket and exits.
///
/// The child runs only async-signal-safe system calls (fork in a multi-threaded process): no
/// allocation, no locks, no Swift runtime calls. It keeps no other descriptor of its parent
/// (stdin, stdout and stderr point to /dev/null), so nothing waiting on a pipe of the parent's
/// waits for it, and it ignores SIGINT, SIGTERM, SIGHUP and SIGPIPE so that a signal sent to
/// the whole process group cannot turn its clean close into a reset.
///
/// Thread-safe: `start` from any thread; `release` once, from any thread.
// @unchecked Sendable: `pid` is immutable; `writeEnd` is closed once, by `release`, which the
// owner calls once.
final class SocketGuardian: @unchecked Sendable {
    let pid: pid_t
    private var writeEnd: Int32

    private init(pid: pid_t, writeEnd: Int32) {
        self.pid = pid
        self.writeEnd = writeEnd
    }

    /// Forks a guardian for connected socket `socket`.
    static func start(socket: Int32, drainMilliseconds: Int32 = 5000) throws -> SocketGuardian {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw PulsarError.connectionClosed("pipe failed: errno \(errno)") }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard null >= 0 else {
            close(fds[0]); close(fds[1])
            throw PulsarError.connectionClosed("cannot open /dev/null: errno \(errno)")
        }
        let size = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
        var limit = rlimit()
        let maxFD = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 ? Int32(clamping: min(limit.rlim_cur, 1 << 20)) : 65536
        let closeRange = closeRangeFunction
        let readEnd = fds[0]
        let writeEnd = fds[1]
        let pid = fork()
        if pid == 0 {
            guardianMain(socket: socket, pipe: readEnd, null: null, buffer: buffer, size: size,
                         drainMilliseconds: drainMilliseconds, closeRange: closeRange, maxFD: maxFD)
        }
        buffer.deallocate()
        close(null)
        close(readEnd)
        guard pid > 0 else {
            close(writeEnd)
            throw PulsarError.connectionClosed("fork failed: errno \(errno)")
        }
        return SocketGuardian(pid: pid, writeEnd: writeEnd)
    }

    /// The connection is done in this process: the guardian closes it gracefully and exits;
    /// it is reaped on a background thread.
    func release() {
        guard writeEnd >= 0 else { return }
        close(writeEnd)
        writeEnd = -1
        let pid = self.pid
        DispatchQueue.global().async {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
    }

    deinit { release() }
}

private typealias CloseRange = @convention(c) (UInt32, UInt32, Int32) -> Int32

/// glibc's `close_range` (2.34 and later), looked up at run time; nil on older systems.
private let closeRangeFunction: CloseRange? = {
    guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "close_range") else { return nil }
    return unsafeBitCast(symbol, to: CloseRange.self)
}()

/// The guardian child. Async-signal-safe system calls only.
@inline(never)
private func guardianMain(socket: Int32, pipe: Int32, null: Int32, buffer: UnsafeMutableRawPointer, size: Int,
                          drainMilliseconds: Int32, closeRange: CloseRange?, maxFD: Int32) -> Never {
    signal(SIGINT, SIG_IGN)
    signal(SIGTERM, SIG_IGN)
    signal(SIGHUP, SIG_IGN)
    signal(SIGPIPE, SIG_IGN)
    signal(SIGUSR1, SIG_IGN)
    signal(SIGUSR2, SIG_IGN)
    dup2(null, 0)
    dup2(null, 1)
    dup2(null, 2)
    // Close every other descriptor inherited from the parent.
    let low = min(socket, pipe)
    let high = max(socket, pipe)
    if let closeRange {
        if low > 3 { _ = closeRange(3, UInt32(low - 1), 0) }
        if high > low + 1 { _ = closeRange(UInt32(low + 1), UInt32(high - 1), 0) }
        _ = closeRange(UInt32(high + 1), UInt32.max, 0)
    } else {
        var fd: Int32 = 3
        while fd < maxFD {
            if fd != socket && fd != pipe { close(fd) }
            fd += 1
        }
    }
    // Wait until the parent closes its end (or dies).
    var watch = pollfd(fd: pipe, events: Int16(POLLIN), revents: 0)
    while true {
        let r = poll(&watch, 1, -1)
        if r < 0 {
            if errno == EINTR { continue }
            break
        }
        if r > 0 {
            let n = read(pipe, buffer, 1)
            if n > 0 || (n < 0 && errno == EINTR) { continue }
            break
        }
    }
    // FIN, then discard what the broker still sends until it closes its side.
    shutdown(socket, Int32(SHUT_WR))
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    let deadline = Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000 + Int64(drainMilliseconds)
    var readable = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
    while true {
        clock_gettime(CLOCK_MONOTONIC, &now)
        let remaining = deadline - (Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000)
        if remaining <= 0 { break }
        let r = poll(&readable, 1, Int32(remaining))
        if r < 0 {
            if errno == EINTR { continue }
            break
        }
        if r == 0 { break }
        let n = read(socket, buffer, size)
        if n == 0 { break }
        if n < 0 {
            if errno == EINTR || errno == EAGAIN { continue }
            break
        }
    }
    close(socket)
    _exit(0)
}

/// Opens a TCP connection (blocking: call it off the event loop) to `host:port`, trying each
/// resolved address, bounded by `timeout` per address. Returns a close-on-exec descriptor.
func connectSocket(host: String, port: Int, timeout: TimeAmount) throws -> Int32 {
    var hints = addrinfo()
    hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    hints.ai_family = AF_UNSPEC
    var list: UnsafeMutablePointer<addrinfo>?
    let status = getaddrinfo(host, String(port), &hints, &list)
    guard status == 0, let first = list else {
        throw PulsarError.connectionClosed("cannot resolve \(host): \(String(cString: gai_strerror(status)))")
    }
    defer { freeaddrinfo(first) }
    var lastError: Int32 = 0
    var current: UnsafeMutablePointer<addrinfo>? = first
    while let info = current {
        current = info.pointee.ai_next
        let fd = Glibc.socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { lastError = errno; continue }
        let nanoseconds = max(timeout.nanoseconds, 1_000_000)
        var tv = timeval(tv_sec: Int(nanoseconds / 1_000_000_000), tv_usec: Int((nanoseconds % 1_000_000_000) / 1000))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var r: Int32
        repeat { r = Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) } while r < 0 && errno == EINTR
        if r == 0 {
            var zero = timeval()
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &zero, socklen_t(MemoryLayout<timeval>.size))
            return fd
        }
        lastError = errno
        close(fd)
    }
    let reason = lastError == EINPROGRESS || lastError == EAGAIN ? "no answer within \(timeout.nanoseconds / 1_000_000) ms" : String(cString: strerror(lastError))
    throw PulsarError.connectionClosed("cannot connect to \(host):\(port): \(reason)")
}
