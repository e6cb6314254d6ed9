import RestartPolicy

/// What `sluice run` hands `sluice-supervisor` once it has checked the pipeline: the worker's
/// command line, the restart policy, and for `--watch` the command that runs `sluice run` again.
/// One encoding for both sides, so the two executables cannot disagree about it.
///
///     sluice-supervisor --initial-delay-ns N --max-delay-ns N --multiplier X --reset-after-ns N
///                       [--max-restarts N] [--first ARG]... [--rerun ARG]... -- WORKER ARG...
public struct SupervisorArguments: Sendable, Equatable {
    public var restart: RestartStrategy
    /// Appended to the first worker's arguments only (`--from-savepoint NAME`): a restarted
    /// worker resumes from the newest checkpoint instead.
    public var firstStart: [String]
    /// With `--watch`: `sluice run`'s executable and arguments. A worker that stops for a
    /// reload (``WorkerExitStatus/reload``) is followed by this command, with
    /// `--from-savepoint NAME` appended, in this process (exec): it checks the changed file and
    /// becomes the supervisor again with the new restart policy. Nil without `--watch`.
    public var rerun: [String]?
    /// The worker's executable, then its arguments.
    public var worker: [String]

    public init(restart: RestartStrategy, firstStart: [String] = [], rerun: [String]? = nil, worker: [String]) {
        self.restart = restart
        self.firstStart = firstStart
        self.rerun = rerun
        self.worker = worker
    }

    /// The command line, without the executable.
    public func encoded() -> [String] {
        var out = ["--initial-delay-ns", String(Self.nanoseconds(restart.initialDelay)),
                   "--max-delay-ns", String(Self.nanoseconds(restart.maxDelay)),
                   "--multiplier", String(restart.multiplier),
                   "--reset-after-ns", String(Self.nanoseconds(restart.resetAfter))]
        if let max = restart.maxRestarts { out += ["--max-restarts", String(max)] }
        out += firstStart.flatMap { ["--first", $0] }
        out += (rerun ?? []).flatMap { ["--rerun", $0] }
        return out + ["--"] + worker
    }

    /// Reads a command line written by ``encoded()``.
    public static func decode(_ arguments: [String]) throws(SupervisorArgumentsError) -> SupervisorArguments {
        var restart = RestartStrategy()
        var first: [String] = [], rerun: [String] = []
        var index = 0
        func value(_ flag: String) throws(SupervisorArgumentsError) -> String {
            index += 1
            guard index < arguments.count else { throw SupervisorArgumentsError("\(flag) needs a value") }
            return arguments[index]
        }
        func duration(_ flag: String) throws(SupervisorArgumentsError) -> Duration {
            let text = try value(flag)
            guard let n = Int64(text), n >= 0 else { throw SupervisorArgumentsError("\(flag) '\(text)' is not a count of nanoseconds") }
            return .nanoseconds(n)
        }
        while index < arguments.count {
            let flag = arguments[index]
            switch flag {
            case "--": 
                let worker = Array(arguments[(index + 1)...])
                guard !worker.isEmpty else { throw SupervisorArgumentsError("no worker command after --") }
                return SupervisorArguments(restart: restart, firstStart: first, rerun: rerun.isEmpty ? nil : rerun, worker: worker)
            case "--initial-delay-ns": restart.initialDelay = try duration(flag)
            case "--max-delay-ns": restart.maxDelay = try duration(flag)
            case "--reset-after-ns": restart.resetAfter = try duration(flag)
            case "--multiplier":
                let text = try value(flag)
                guard let x = Double(text), x >= 1 else { throw SupervisorArgumentsError("--multiplier '\(text)' is not a number of at least 1") }
                restart.multiplier = x
            case "--max-restarts":
                let text = try value(flag)
                guard let n = Int(text), n >= 0 else { throw SupervisorArgumentsError("--max-restarts '\(text)' is not a count") }
                restart.maxRestarts = n
            case "--first": first.append(try value(flag))
            case "--rerun": rerun.append(try value(flag))
            default: throw SupervisorArgumentsError("unknown argument '\(flag)'")
            }
            index += 1
        }
        throw SupervisorArgumentsError("no worker command (expected -- WORKER ARG...)")
    }

    private static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

public struct SupervisorArgumentsError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
