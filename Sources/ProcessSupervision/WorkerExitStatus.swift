/// The exit statuses by which a worker tells its supervisor what to do next, besides 0 (stopped
/// as asked: the supervisor exits too) and any other (died: restarted from the newest
/// checkpoint, with backoff in a crash loop).
public enum WorkerExitStatus {
    /// EX_CONFIG: the pipeline is wrong; restarting will not help, so the supervisor exits with it.
    public static let configuration: Int32 = 78
    /// The watched pipeline file changed in a way that needs a new worker: the worker stopped
    /// with a savepoint and wrote its name to the reload pipe; `sluice run` is run again from it.
    public static let reload: Int32 = 75
}
