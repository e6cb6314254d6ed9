import Foundation
import PluginKit

/// The one `sluice_host_api` plugin tests drive a plugin with, directly, without the runtime:
/// it records the plugin's log lines and rejected rows (or refuses rejects, as a pipeline
/// without a dead-letter sink does), and hands the plugin its state folder, delivery mode,
/// pipeline and operator names.
///
/// `@unchecked Sendable`: what it records is kept under `lock`, since a plugin may log from
/// any of its threads.
public final class FakeHost: @unchecked Sendable {
    public let stateDirectory: String
    /// Where log lines go; share one between instances to read what several wrote.
    public let log: CapturedLines
    /// Rejects answer SLUICE_ERROR, as without a dead-letter sink.
    public var refusesRejects = false
    private let api: UnsafeMutablePointer<sluice_host_api>
    private var strings: [UnsafeMutablePointer<CChar>] = []
    private let lock = NSLock()
    private var rejects: [(row: Int64, reason: String)] = []
    private var lags: [String: Int64] = [:]

    public init(stateDirectory: String = NSTemporaryDirectory() + "sluice-fakehost-\(UUID().uuidString.prefix(8))",
                exactlyOnce: Bool = true, pipeline: String = "test", operatorName: String = "sink",
                log: CapturedLines = CapturedLines(), lane: Int = 0, laneCount: Int = 1) {
        self.stateDirectory = stateDirectory
        self.log = log
        try? DurableFile.makeDirectories(stateDirectory)
        let state = strdup(stateDirectory)!, name = strdup(pipeline)!, op = strdup(operatorName)!
        strings = [state, name, op]
        api = .allocate(capacity: 1)
        api.initialize(to: sluice_host_api(
            struct_size: UInt32(MemoryLayout<sluice_host_api>.size), abi_version: 1 << 16, host_data: nil,
            log: { data, level, message in
                guard let data, let message else { return }
                Unmanaged<FakeHost>.fromOpaque(data).takeUnretainedValue().log.append("[\(level.rawValue)] " + String(cString: message))
            },
            reject: { data, row, reason in
                guard let data else { return SLUICE_ERROR }
                let host = Unmanaged<FakeHost>.fromOpaque(data).takeUnretainedValue()
                host.lock.withLock { host.rejects.append((row, reason.map { String(cString: $0) } ?? "")) }
                return host.refusesRejects ? SLUICE_ERROR : SLUICE_OK
            },
            state_dir: UnsafePointer(state),
            delivery_mode: exactlyOnce ? SLUICE_EXACTLY_ONCE : SLUICE_AT_LEAST_ONCE,
            pipeline_name: UnsafePointer(name), operator_name: UnsafePointer(op), open_purpose: SLUICE_OPEN_RUN,
            lane: UInt32(lane), lane_count: UInt32(laneCount),
            set_status: { data, status in
                guard let data, let status else { return }
                Unmanaged<FakeHost>.fromOpaque(data).takeUnretainedValue().log.append("[status] " + String(cString: status))
            },
            staging: nil,
            report_lag: { data, partition, messages in
                guard let data, let partition else { return }
                let host = Unmanaged<FakeHost>.fromOpaque(data).takeUnretainedValue()
                host.lock.withLock { host.lags[String(cString: partition)] = messages < 0 ? nil : messages }
            }))
        api.pointee.host_data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        api.deallocate()
        strings.forEach { free($0) }
    }

    /// What a plugin's `init(config:host:)` takes. The plugin must not outlive this object.
    public var pluginHost: PluginHost { PluginHost(api: api) }

    /// The rows rejected so far, in order.
    public var rejected: [(row: Int64, reason: String)] { lock.withLock { rejects } }

    public func clearRejected() { lock.withLock { rejects = [] } }

    /// What the plugin last reported of its lag (`report_lag`), per partition.
    public var lag: [String: Int64] { lock.withLock { lags } }
}

/// Log lines from any thread.
public final class CapturedLines: @unchecked Sendable {
    // @unchecked Sendable: `lines` is only touched under `lock`.
    private let lock = NSLock()
    private var lines: [String] = []

    public init() {}

    public func append(_ line: String) { lock.withLock { lines.append(line) } }
    public var text: String { lock.withLock { lines.joined(separator: "\n") } }
    public func clear() { lock.withLock { lines = [] } }
}
