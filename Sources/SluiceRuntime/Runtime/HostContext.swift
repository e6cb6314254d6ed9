import Foundation
import Glibc
import PluginABI
import SluiceArrow

/// The host side of one plugin instance's `sluice_host_api`: logging, and the dead-letter
/// collector behind `reject`.
///
/// `log` may be called from any thread; everything else from the operator thread only.
final class HostContext {
    /// The operator's name, as dead letters record it.
    let operatorName: String
    /// The name log lines carry: with the lane when the pipeline has several.
    let logName: String
    let pluginName: String
    /// Whether the pipeline has a dead-letter sink; without one a rejected row fails the
    /// pipeline, because nothing may be dropped silently.
    let hasDeadLetterOutput: Bool
    /// The operator's durable staging, offered as `sluice_host_api.staging`; any thread.
    let staging: (any StagingArea)?

    /// The input being processed, set around `transform_process` so `reject` can copy rows.
    private var currentInput: ArrowBatchView?
    private var deadLetterColumns: [ArrowColumnBuilder] = []
    private var reasonColumn: ArrowColumnBuilder?
    private var operatorColumn: ArrowColumnBuilder?
    private(set) var lastRejectReason: String?
    private(set) var rejectedCount = 0
    /// What the plugin last said about itself (`set_status`); any thread.
    var status: String? { statusLock.withLock { statusText } }
    private var statusText: String?
    private let statusLock = NSLock()

    /// Any thread.
    func setStatus(_ text: String) { statusLock.withLock { statusText = text } }

    /// What the plugin last reported of its lag (`report_lag`), per input partition; any thread.
    var lag: [String: Int64] { statusLock.withLock { lagByPartition } }
    private var lagByPartition: [String: Int64] = [:]

    /// Any thread; a negative count forgets the partition.
    func reportLag(partition: String, messages: Int64) {
        statusLock.withLock { lagByPartition[partition] = messages < 0 ? nil : messages }
    }

    init(operatorName: String, logName: String? = nil, pluginName: String, hasDeadLetterOutput: Bool, staging: (any StagingArea)? = nil) {
        self.staging = staging
        self.operatorName = operatorName
        self.logName = logName ?? operatorName
        self.pluginName = pluginName
        self.hasDeadLetterOutput = hasDeadLetterOutput
    }

    // MARK: - Dead letters

    func beginProcessing(_ input: ArrowBatchView) {
        currentInput = input
        rejectedCount = 0
        lastRejectReason = nil
    }

    /// Ends a `transform_process` call: the rows rejected during it as one batch (the input's
    /// columns plus `error_reason` and `error_operator`), or nil.
    func endProcessing() -> ArrowBatch? {
        currentInput = nil
        guard let reasonColumn, let operatorColumn else { return nil }
        let batch = ArrowBatchBuilder(columns: deadLetterColumns + [reasonColumn, operatorColumn]).finish()
        deadLetterColumns = []
        self.reasonColumn = nil
        self.operatorColumn = nil
        return batch
    }

    func reject(row: Int64, reason: String) -> sluice_status {
        rejectedCount += 1
        lastRejectReason = reason
        guard hasDeadLetterOutput, let input = currentInput, row >= 0, Int(row) < input.length else {
            return SLUICE_ERROR
        }
        if reasonColumn == nil {
            deadLetterColumns = input.columns.map { ArrowColumnBuilder(name: $0.name, format: $0.format, nullable: $0.nullable) }
            reasonColumn = ArrowColumnBuilder(name: "error_reason", format: .utf8, nullable: false)
            operatorColumn = ArrowColumnBuilder(name: "error_operator", format: .utf8, nullable: false)
        }
        for (builder, column) in zip(deadLetterColumns, input.columns) { builder.append(row: Int(row), of: column) }
        reasonColumn!.append(reason)
        operatorColumn!.append(operatorName)
        return SLUICE_OK
    }

    // MARK: - The C table

    /// Fills a `sluice_host_api` whose callbacks lead back to this context. The strings are
    /// owned by `strings` and must outlive the instance.
    func makeAPI(stateDirectory: String, deliveryMode: sluice_delivery_mode, pipelineName: String,
                 openPurpose: sluice_open_purpose = SLUICE_OPEN_RUN, lane: LaneAssignment = .single) -> HostAPIStorage {
        HostAPIStorage(context: self, stateDirectory: stateDirectory, deliveryMode: deliveryMode, pipelineName: pipelineName,
                       openPurpose: openPurpose, lane: lane)
    }
}

/// The pipeline-wide lane an instance runs in, and how many lanes the pipeline has.
struct LaneAssignment: Equatable {
    var index: Int
    var count: Int
    static let single = LaneAssignment(index: 0, count: 1)
}

/// Owns a `sluice_host_api` and the strings it points to, for the life of one instance.
final class HostAPIStorage {
    let api: UnsafeMutablePointer<sluice_host_api>
    private let strings: [UnsafeMutablePointer<CChar>]
    private let context: Unmanaged<HostContext>
    private let stagingAPI: StagingAPIStorage?

    init(context: HostContext, stateDirectory: String, deliveryMode: sluice_delivery_mode, pipelineName: String,
         openPurpose: sluice_open_purpose, lane: LaneAssignment) {
        let state = strdup(stateDirectory)!, pipeline = strdup(pipelineName)!, op = strdup(context.operatorName)!
        strings = [state, pipeline, op]
        self.context = Unmanaged.passRetained(context)
        stagingAPI = context.staging.map { StagingAPIStorage(location: $0.location) }
        api = .allocate(capacity: 1)
        api.initialize(to: sluice_host_api(
            struct_size: UInt32(MemoryLayout<sluice_host_api>.size),
            abi_version: UInt32(SLUICE_ABI_VERSION_MAJOR << 16 | SLUICE_ABI_VERSION_MINOR),
            host_data: self.context.toOpaque(),
            log: { data, level, message in
                guard let data, let message else { return }
                let ctx = Unmanaged<HostContext>.fromOpaque(data).takeUnretainedValue()
                let text = String(cString: message)
                switch level {
                case SLUICE_LOG_DEBUG: Log.debug(text, operator: ctx.logName)
                case SLUICE_LOG_WARN: Log.warn(text, operator: ctx.logName)
                case SLUICE_LOG_ERROR: Log.error(text, operator: ctx.logName)
                default: Log.info(text, operator: ctx.logName)
                }
            },
            reject: { data, row, reason in
                guard let data else { return SLUICE_ERROR }
                return Unmanaged<HostContext>.fromOpaque(data).takeUnretainedValue()
                    .reject(row: row, reason: reason.map { String(cString: $0) } ?? "no reason given")
            },
            state_dir: UnsafePointer(state),
            delivery_mode: deliveryMode,
            pipeline_name: UnsafePointer(pipeline),
            operator_name: UnsafePointer(op),
            open_purpose: openPurpose,
            lane: UInt32(lane.index),
            lane_count: UInt32(lane.count),
            set_status: { data, status in
                guard let data, let status else { return }
                Unmanaged<HostContext>.fromOpaque(data).takeUnretainedValue().setStatus(String(cString: status))
            },
            staging: stagingAPI.map { UnsafePointer($0.api) },
            report_lag: { data, partition, messages in
                guard let data, let partition else { return }
                Unmanaged<HostContext>.fromOpaque(data).takeUnretainedValue().reportLag(partition: String(cString: partition), messages: messages)
            }))
    }

    deinit {
        api.deallocate()
        strings.forEach { free($0) }
        context.release()
    }
}
