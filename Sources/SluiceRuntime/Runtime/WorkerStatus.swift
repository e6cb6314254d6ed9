import Foundation

/// What the coordinator thread publishes for the admin API's status: updated under a lock,
/// read from the API's thread.
final class WorkerStatus {
    struct Values {
        var state = "starting"
        var lastCheckpoint: [String: Any]?
        var checkpointsCompleted = 0
        var checkpointsAborted = 0
        var rowsCommitted = 0
        var deadLettersCommitted = 0
        var swaps = 0
        var lastSwap: [String: Any]?
    }

    private let lock = NSLock()
    private var values = Values()
    let startedAt = Date()

    func update(_ change: (inout Values) -> Void) {
        lock.lock()
        change(&values)
        lock.unlock()
    }

    var current: Values {
        lock.lock()
        defer { lock.unlock() }
        return values
    }
}
