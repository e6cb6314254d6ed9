import PluginABI

/// The host's callbacks for one plugin instance (`sluice_host_api`), wrapped for Swift.
///
/// Valid from `init` until the instance is destroyed.
///
/// `@unchecked Sendable`: the `sluice_host_api` it points to is never changed while the
/// instance lives, and the ABI lets `log` be called from any thread (a plugin's own threads log
/// too); the other callbacks are for the operator thread, as their comments say.
public struct PluginHost: @unchecked Sendable {
    let api: UnsafePointer<sluice_host_api>

    public init(api: UnsafePointer<sluice_host_api>) { self.api = api }

    public enum LogLevel { case debug, info, warn, error }

    /// Logs one line; any thread.
    public func log(_ level: LogLevel, _ message: String) {
        let cLevel: sluice_log_level
        switch level {
        case .debug: cLevel = SLUICE_LOG_DEBUG
        case .info: cLevel = SLUICE_LOG_INFO
        case .warn: cLevel = SLUICE_LOG_WARN
        case .error: cLevel = SLUICE_LOG_ERROR
        }
        api.pointee.log?(api.pointee.host_data, cLevel, message)
    }

    /// Transforms, during `process` only: sends input row `row` to the dead-letter output.
    /// Throws when the pipeline is set to fail on bad records.
    public func reject(row: Int, reason: String) throws {
        guard let reject = api.pointee.reject else { throw PluginError("this host has no dead-letter output") }
        if reject(api.pointee.host_data, Int64(row), reason) != SLUICE_OK {
            throw PluginError("record \(row) rejected: \(reason)")
        }
    }

    /// A local directory private to this operator that survives restarts on this machine.
    /// For what a restore needs (a sink's sealed epochs), use ``staging()``.
    public var stateDirectory: String { String(cString: api.pointee.state_dir) }

    /// The operator's durable staging: the host's (ABI 1.2), kept with the checkpoints
    /// wherever they are; on an older host, files in ``stateDirectory``.
    public func staging() throws -> Staging { try Staging(host: self) }

    /// The host's staging table, when it offers one.
    var stagingAPI: UnsafePointer<sluice_staging_api>? {
        guard hostProvides(\.staging), let table = api.pointee.staging,
              table.pointee.struct_size >= MemoryLayout<sluice_staging_api>.size else { return nil }
        return table
    }

    public var exactlyOnce: Bool { api.pointee.delivery_mode == SLUICE_EXACTLY_ONCE }

    /// True when `open` is a check (`sluice validate --connect`, ABI 1.2): try each endpoint
    /// once and fail with the cause instead of retrying. False on a 1.1 host.
    public var isConnectionCheck: Bool {
        hostProvides(\.open_purpose) && api.pointee.open_purpose == SLUICE_OPEN_CHECK
    }

    /// The pipeline-wide lane of this instance and the pipeline's lane count (ABI 1.2): a
    /// source reads its share of the input by them. Lane 0 of 1 on a host without lanes.
    public var lane: (index: Int, count: Int) {
        guard hostProvides(\.lane_count), api.pointee.lane_count >= 1, api.pointee.lane < api.pointee.lane_count else { return (0, 1) }
        return (Int(api.pointee.lane), Int(api.pointee.lane_count))
    }

    /// Says what this instance is doing, for `sluice status` (ABI 1.2; ignored by older hosts).
    /// Any thread.
    public func setStatus(_ text: String) {
        guard hostProvides(\.set_status), let setStatus = api.pointee.set_status else { return }
        setStatus(api.pointee.host_data, text)
    }

    /// Says how many messages of input `partition` are stored upstream and not yet emitted
    /// (ABI 1.2 `report_lag`; ignored by older hosts); a negative count forgets the partition.
    /// Any thread.
    public func reportLag(partition: String, messages: Int64) {
        guard hostProvides(\.report_lag), let report = api.pointee.report_lag else { return }
        report(api.pointee.host_data, partition, messages)
    }

    public var pipelineName: String { String(cString: api.pointee.pipeline_name) }

    /// Whether the host's table reaches `member`: a member a minor version appended is there
    /// only when `struct_size` covers it.
    private func hostProvides<Member>(_ member: KeyPath<sluice_host_api, Member>) -> Bool {
        guard let offset = MemoryLayout<sluice_host_api>.offset(of: member) else { return false }
        return Int(api.pointee.struct_size) >= offset + MemoryLayout<Member>.size
    }
    public var operatorName: String { String(cString: api.pointee.operator_name) }
}
