// `sluice-supervisor`: what `sluice run` becomes (exec, same pid) once it has checked the
// pipeline. Its command line is written by `sluice run` (SupervisorArguments).
import Glibc
import ProcessSupervision

let log = SupervisorLog()
do {
    let arguments = try SupervisorArguments.decode(Array(CommandLine.arguments.dropFirst()))
    exit(Supervisor(arguments: arguments, log: log).run())
} catch {
    log.error("\(error) (sluice-supervisor is started by `sluice run`)")
    exit(2)
}
