import Foundation
import Glibc

/// Fences a checkpoint directory: one pipeline process tree at a time may use it.
///
/// Two supervisors (or a supervisor and a hand-started worker) on one checkpoint directory would
/// restore the same checkpoint and consume, commit and prune side by side. The lock is an
/// advisory `flock` on `sluice.lock` in the directory, held for the life of the process: the
/// kernel releases it when the holder dies, however it dies, so a stale lock cannot outlive a
/// crash. The holder's pid is written into the file, for the refusal message.
///
/// `sluice run` takes the lock, becomes the supervisor (exec) with the descriptor open, and the
/// supervisor hands it to each worker it starts (`environmentKey` names the descriptor); the
/// lock then lasts until both are gone, and a worker dies with its supervisor
/// (`PR_SET_PDEATHSIG`). A worker started by hand takes it itself.
final class CheckpointDirectoryLock {
    /// The variable that hands the locked descriptor to a worker.
    static let environmentKey = "SLUICE_CHECKPOINT_LOCK_FD"
    static let fileName = "sluice.lock"

    let descriptor: Int32
    let path: String

    private init(descriptor: Int32, path: String) {
        self.descriptor = descriptor
        self.path = path
    }

    /// Takes the lock of `directory` (created if missing), or throws naming the holder.
    /// `inheritable` keeps the descriptor open across exec, for the workers.
    static func acquire(directory: String, inheritable: Bool) throws -> CheckpointDirectoryLock {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/" + fileName
        let fd = open(path, O_RDWR | O_CREAT | (inheritable ? 0 : O_CLOEXEC), 0o644)
        guard fd >= 0 else {
            throw CheckpointDirectoryLockError("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            close(fd)
            throw CheckpointDirectoryLockError(
                "checkpoint directory \(directory) is in use by another sluice process (pid \(holder.isEmpty ? "unknown" : holder)); "
                + "stop that pipeline first, or give this one its own checkpointing.directory")
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
        return CheckpointDirectoryLock(descriptor: fd, path: path)
    }

    /// The lock a supervisor handed to this worker through the environment, checked to be a
    /// lock on `directory`'s lock file and held; nil when none was handed over. `keepAcrossExec`
    /// leaves the descriptor open across exec (`sluice run` run again for a reload, which hands
    /// it on to the next supervisor and its workers).
    static func inherited(directory: String, keepAcrossExec: Bool = false,
                          environment: [String: String] = ProcessInfo.processInfo.environment) throws -> CheckpointDirectoryLock? {
        guard let text = environment[environmentKey] else { return nil }
        let path = directory + "/" + fileName
        var held = stat(), expected = stat()
        guard let fd = Int32(text), fstat(fd, &held) == 0, stat(path, &expected) == 0,
              held.st_dev == expected.st_dev, held.st_ino == expected.st_ino else {
            throw CheckpointDirectoryLockError("\(environmentKey)=\(text) is not a lock on \(path); start workers through `sluice run`")
        }
        // The same open file description already holds the lock: this cannot block or fail
        // unless the descriptor was not the supervisor's.
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            throw CheckpointDirectoryLockError("checkpoint directory \(directory) is locked by another process than this worker's supervisor")
        }
        if !keepAcrossExec { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return CheckpointDirectoryLock(descriptor: fd, path: path)
    }
}

struct CheckpointDirectoryLockError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
