import PluginABI
import SluiceArrow
import SluiceCore

/// One live plugin instance: the descriptor's function pointers, the opaque instance, and the
/// host table it was created with. Every method turns a failed status into an `OperatorError`
/// carrying the plugin's own message.
///
/// Called from the operator's thread only (the ABI's threading rule).
final class PluginInstance {
    let plugin: LoadedPlugin
    let context: HostContext
    private let hostAPI: HostAPIStorage
    private var instance: UnsafeMutableRawPointer?
    private var error = sluice_error()
    private var d: sluice_plugin_descriptor { plugin.descriptor.pointee }

    /// Calls the plugin's `create`.
    init(plugin: LoadedPlugin, configJSON: String, context: HostContext, stateDirectory: String,
         deliveryMode: DeliveryMode, pipelineName: String, openPurpose: sluice_open_purpose = SLUICE_OPEN_RUN,
         lane: LaneAssignment = .single) throws {
        self.plugin = plugin
        self.context = context
        hostAPI = context.makeAPI(stateDirectory: stateDirectory,
                                  deliveryMode: deliveryMode == .exactlyOnce ? SLUICE_EXACTLY_ONCE : SLUICE_AT_LEAST_ONCE,
                                  pipelineName: pipelineName, openPurpose: openPurpose, lane: lane)
        var created: UnsafeMutableRawPointer?
        let status = configJSON.withCString { d.create!($0, UnsafePointer(hostAPI.api), &created, &error) }
        guard status == SLUICE_OK, created != nil else { throw failure("create failed") }
        instance = created
    }

    deinit { destroy() }

    // MARK: - Lifecycle

    func open() throws { if let f = d.open { try check(f(instance, &reset().error), "open failed") } }
    func close() throws { if let f = d.close { try check(f(instance, &reset().error), "close failed") } }

    func destroy() {
        guard let instance else { return }
        d.destroy!(instance)
        self.instance = nil
    }

    // MARK: - Data

    enum SourceResult { case batch(ArrowBatch), noData, endOfStream }

    func next() throws -> SourceResult {
        let batch = ArrowBatch()
        let status = d.source_next!(instance, batch.schema, batch.array, &reset().error)
        switch status {
        case SLUICE_OK:
            guard batch.isLive else { throw failure("source_next returned OK without a batch") }
            return .batch(batch)
        case SLUICE_NO_DATA: return .noData
        case SLUICE_END_OF_STREAM: return .endOfStream
        default: throw failure("source_next failed")
        }
    }

    /// Runs the transform; returns its output and the rows it rejected.
    func process(_ input: ArrowBatch) throws -> (output: ArrowBatch, rejected: ArrowBatch?) {
        if let view = try? input.view() { context.beginProcessing(view) }
        let output = ArrowBatch()
        let status = d.transform_process!(instance, input.schema, input.array, output.schema, output.array, &reset().error)
        let rejected = context.endProcessing()
        guard status == SLUICE_OK else {
            if let reason = context.lastRejectReason, !context.hasDeadLetterOutput {
                // The same record comes back after a restart: not worth one.
                throw OperatorError(operatorName: context.operatorName, plugin: plugin.name,
                                    message: "rejected a record (\(reason)) and the pipeline has no dead_letter sink; add one or fix the input",
                                    isPermanent: true)
            }
            throw failure("transform_process failed")
        }
        guard output.isLive else { throw failure("transform_process returned OK without an output batch") }
        return (output, rejected)
    }

    func write(_ batch: ArrowBatch) throws {
        try check(d.sink_write!(instance, batch.schema, batch.array, &reset().error), "sink_write failed")
    }

    // MARK: - Checkpoints

    func snapshot(_ id: UInt64) throws -> [UInt8] {
        guard let f = d.snapshot else { return [] }
        var bytes = sluice_bytes()
        try check(f(instance, id, &bytes, &reset().error), "snapshot of checkpoint \(id) failed")
        defer { bytes.release?(&bytes) }
        guard let data = bytes.data, bytes.length > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: data, count: bytes.length))
    }

    func restore(_ id: UInt64, state: [UInt8]) throws {
        guard let f = d.restore else { return }
        try check(state.withUnsafeBufferPointer { f(instance, id, $0.baseAddress, $0.count, &reset().error) },
                  "restore of checkpoint \(id) failed")
    }

    func notifyComplete(_ id: UInt64) throws {
        guard let f = d.notify_checkpoint_complete else { return }
        try check(f(instance, id, &reset().error), "commit of checkpoint \(id) failed")
    }

    func notifyAborted(_ id: UInt64) { d.notify_checkpoint_aborted?(instance, id) }

    // MARK: - Errors

    private func reset() -> PluginInstance {
        error = sluice_error()
        return self
    }

    private func check(_ status: sluice_status, _ what: String) throws {
        if status != SLUICE_OK { throw failure(what) }
    }

    private func failure(_ what: String) -> OperatorError {
        let message = PluginErrorText.message(error)
        let path = PluginErrorText.configPath(error)
        return OperatorError(operatorName: context.operatorName, plugin: plugin.name,
                             message: message.isEmpty ? "\(what) (the plugin gave no reason)" : message,
                             configPath: path.isEmpty ? nil : path, isPermanent: !path.isEmpty)
    }
}
