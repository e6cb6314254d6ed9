import Glibc

/// SIGTERM, SIGINT and SIGUSR1 for the worker, caught from the first instant of the process.
///
/// A dispatch signal source is armed only after the signal is set to SIG_IGN, and a signal
/// arriving in between is lost: a worker told to stop while it was still starting would never
/// stop. Here a plain handler, installed before anything else runs, records the signal; the
/// coordinator loop, which wakes at least every 50 ms, takes it from there. Before the handler
/// exists the signals are blocked (the supervisor spawns workers that way), so none is lost.
enum StopSignals {
    // nonisolated(unsafe): sig_atomic_t, written by the signal handler and read and reset by the
    // coordinator thread; a sig_atomic_t is what a handler may safely share.
    nonisolated(unsafe) private static var stop: sig_atomic_t = 0
    nonisolated(unsafe) private static var savepoint: sig_atomic_t = 0

    /// Installs the handlers, then unblocks the signals. Call first thing in the worker process.
    ///
    /// The supervisor starts a worker with these signals blocked (`WorkerChild`): a signal
    /// sent before this point stays pending and is handled here, instead of killing a worker
    /// that had no handler yet.
    static func install() {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in
            if signal == SIGUSR1 { StopSignals.savepoint = 1 } else { StopSignals.stop = signal }
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        var handled = sigset_t()
        sigemptyset(&handled)
        for signal in [SIGTERM, SIGINT, SIGUSR1] {
            sigaction(signal, &action, nil)
            sigaddset(&handled, signal)
        }
        pthread_sigmask(SIG_UNBLOCK, &handled, nil)
    }

    /// The stop signal received since the last call, if any.
    static func takeStop() -> Int32? {
        let signal = stop
        guard signal != 0 else { return nil }
        stop = 0
        return signal
    }

    /// Whether SIGUSR1 arrived since the last call.
    static func takeSavepoint() -> Bool {
        guard savepoint != 0 else { return false }
        savepoint = 0
        return true
    }
}
