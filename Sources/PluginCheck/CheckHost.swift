import Foundation
import PluginABI

/// The `sluice_host_api` the checker gives each instance, recording how the plugin uses it.
///
/// The header's thread rules, as the plugin sees them: `log`, `set_status` and `report_lag`
/// may come from any thread between create and destroy; `reject` only from the operator thread
/// during `transform_process`. Every callback must pass back the `host_data` it was given.
/// Records are kept for the whole run (plugins may hold the pointer), so nothing is freed.
/// Thread-safe.
final class CheckHost: @unchecked Sendable {
    private static let registryLock = NSLock()
    nonisolated(unsafe) private static var live: [UnsafeMutableRawPointer: CheckHost] = [:]

    let api: UnsafeMutablePointer<sluice_host_api>
    private let hostData: UnsafeMutableRawPointer
    private let lock = NSLock()
    private let operatorName: String
    private var destroyed = false
    private var inTransformProcess = false
    private var operatorThread: pthread_t?
    private var violations: [String] = []
    private(set) var logLines: [String] = []
    private(set) var rejects = 0
    private let strings: [UnsafeMutablePointer<CChar>]

    init(operatorName: String, stateDirectory: String) {
        self.operatorName = operatorName
        hostData = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 1)
        let stateDir = strdup(stateDirectory)!, pipeline = strdup("plugin-check")!, op = strdup(operatorName)!
        strings = [stateDir, pipeline, op]
        api = .allocate(capacity: 1)
        var table = sluice_host_api()
        table.struct_size = UInt32(MemoryLayout<sluice_host_api>.size)
        table.abi_version = UInt32(SLUICE_ABI_VERSION_MAJOR << 16 | SLUICE_ABI_VERSION_MINOR)
        table.host_data = hostData
        table.log = { data, level, message in CheckHost.find(data, "log")?.logged(level, message) }
        table.reject = { data, row, reason in
            CheckHost.find(data, "reject")?.rejected(row, reason) ?? SLUICE_ERROR
        }
        table.state_dir = UnsafePointer(stateDir)
        table.delivery_mode = SLUICE_EXACTLY_ONCE
        table.pipeline_name = UnsafePointer(pipeline)
        table.operator_name = UnsafePointer(op)
        table.open_purpose = SLUICE_OPEN_RUN
        table.lane = 0
        table.lane_count = 1
        table.set_status = { data, _ in _ = CheckHost.find(data, "set_status")?.callbackAllowed("set_status") }
        table.staging = nil
        table.report_lag = { data, _, _ in _ = CheckHost.find(data, "report_lag")?.callbackAllowed("report_lag") }
        api.initialize(to: table)
        Self.registryLock.lock()
        Self.live[hostData] = self
        Self.registryLock.unlock()
    }

    /// The host a callback's `host_data` names; an unknown pointer is a violation of its own.
    private static func find(_ data: UnsafeMutableRawPointer?, _ callback: String) -> CheckHost? {
        registryLock.lock()
        defer { registryLock.unlock() }
        if let data, let host = live[data] { return host }
        strayCallbacks.append("\(callback) was called with a host_data the host never gave out (\(String(describing: data))); pass back sluice_host_api.host_data")
        return nil
    }
    nonisolated(unsafe) private static var strayCallbacks: [String] = []

    /// Callbacks made with a wrong host_data, since the last call.
    static func takeStrayCallbacks() -> [String] {
        registryLock.lock(); defer { registryLock.unlock() }
        defer { strayCallbacks = [] }
        return strayCallbacks
    }

    // MARK: - What the checker tells the host

    /// Calls into the instance come from this thread from now on.
    func enteringCall(transformProcess: Bool = false) {
        lock.lock(); defer { lock.unlock() }
        operatorThread = pthread_self()
        inTransformProcess = transformProcess
    }

    func leftCall() {
        lock.lock(); defer { lock.unlock() }
        inTransformProcess = false
    }

    func markDestroyed() {
        lock.lock(); defer { lock.unlock() }
        destroyed = true
    }

    func takeViolations() -> [String] {
        lock.lock(); defer { lock.unlock() }
        defer { violations = [] }
        return violations
    }

    // MARK: - Callbacks

    private func callbackAllowed(_ name: String) -> Bool {
        lock.lock(); defer { lock.unlock() }
        if destroyed {
            violations.append("\(name) was called after destroy returned (a thread of the plugin outlived its instance); stop and join threads in destroy")
            return false
        }
        return true
    }

    private func logged(_ level: sluice_log_level, _ message: UnsafePointer<CChar>?) {
        guard callbackAllowed("log") else { return }
        let text = message.map { String(cString: $0) } ?? ""
        lock.lock(); defer { lock.unlock() }
        if message == nil { violations.append("log was called with a NULL message") }
        if logLines.count < 1000 { logLines.append(text) }
    }

    private func rejected(_ row: Int64, _ reason: UnsafePointer<CChar>?) -> sluice_status {
        guard callbackAllowed("reject") else { return SLUICE_ERROR }
        lock.lock(); defer { lock.unlock() }
        if !inTransformProcess {
            violations.append("reject was called outside transform_process; reject rows only during that call")
            return SLUICE_ERROR
        }
        if let thread = operatorThread, pthread_equal(thread, pthread_self()) == 0 {
            violations.append("reject was called from a thread other than the operator thread; call it from transform_process's own thread")
            return SLUICE_ERROR
        }
        if reason == nil { violations.append("reject was called with a NULL reason") }
        if row < 0 { violations.append("reject was called with row \(row); rows are 0-based indices of the input batch") }
        rejects += 1
        return SLUICE_OK
    }
}
