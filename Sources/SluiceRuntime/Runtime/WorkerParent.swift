import CProcessControl
import Foundation
import Glibc

/// Ties a worker's life to its supervisor's.
///
/// Without it a worker whose supervisor died (SIGKILL, the OOM killer) is re-parented to init
/// and goes on reading and committing for as long as the machine runs, beside the worker a new
/// supervisor starts. The supervisor passes its pid; the worker asks the kernel for SIGKILL when
/// its parent dies (Linux `PR_SET_PDEATHSIG`), then checks that the parent is still the
/// supervisor, since it may have died before the request was made.
enum WorkerParent {
    /// The variable through which the supervisor passes its pid.
    static let environmentKey = "SLUICE_SUPERVISOR_PID"

    /// Call first thing in the worker. Exits at once when the supervisor is already gone; does
    /// nothing for a worker started by hand (no supervisor pid).
    static func dieWithSupervisor(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let text = environment[environmentKey], let supervisor = pid_t(text) else { return }
        if sluice_set_parent_death_signal(SIGKILL) != 0 {
            Log.warn("cannot ask to die with the supervisor (prctl: \(String(cString: strerror(errno)))); this worker may outlive it")
        }
        if getppid() != supervisor {
            Log.error("the supervisor (pid \(supervisor)) is gone; exiting")
            fflush(nil)
            _exit(1)
        }
    }
}
