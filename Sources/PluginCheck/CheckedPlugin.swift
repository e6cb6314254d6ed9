import Foundation
import PluginABI
import SluiceCore

/// A loaded plugin's descriptor and the calls the checker makes into it, each returning the
/// status and the plugin's message so a check can say exactly which call failed and why.
struct CheckedPlugin {
    let path: String
    let descriptor: UnsafePointer<sluice_plugin_descriptor>
    /// The descriptor's members, with those beyond its `struct_size` read as absent.
    let hooks: sluice_plugin_descriptor
    let kind: sluice_plugin_kind

    var name: String { hooks.name.map { String(cString: $0) } ?? "" }
    var kindName: String {
        switch kind {
        case SLUICE_KIND_SOURCE: return "source"
        case SLUICE_KIND_TRANSFORM: return "transform"
        case SLUICE_KIND_SINK: return "sink"
        default: return "unknown"
        }
    }

    init(path: String, descriptor: UnsafePointer<sluice_plugin_descriptor>) {
        self.path = path
        self.descriptor = descriptor
        let size = Int(UnsafeRawPointer(descriptor).load(as: UInt32.self))
        var copy = sluice_plugin_descriptor()
        withUnsafeMutableBytes(of: &copy) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(start: descriptor, count: min(size, target.count)))
        }
        hooks = copy
        kind = copy.kind
    }

    /// True when the descriptor's `struct_size` reaches `output_schema` (ABI 1.1).
    var declaresOutputSchemaMember: Bool {
        Int(hooks.struct_size) >= MemoryLayout<sluice_plugin_descriptor>.offset(of: \.output_schema)! + MemoryLayout<UnsafeRawPointer>.size
    }
}

/// What a call returned: the status and, on failure, the message and config path.
struct CallOutcome {
    var status: sluice_status
    var message: String
    var configPath: String

    var ok: Bool { status == SLUICE_OK }

    init(_ status: sluice_status, _ error: sluice_error) {
        self.status = status
        message = PluginErrorText.message(error)
        configPath = PluginErrorText.configPath(error)
    }

    /// "failed: <message>" for reports, with a hint when the plugin gave no message.
    var failureText: String {
        let statusText: String
        switch status {
        case SLUICE_ERROR: statusText = "SLUICE_ERROR"
        case SLUICE_NO_DATA: statusText = "SLUICE_NO_DATA"
        case SLUICE_END_OF_STREAM: statusText = "SLUICE_END_OF_STREAM"
        default: statusText = "status \(status.rawValue)"
        }
        return message.isEmpty ? "\(statusText) with no message (write one into sluice_error)" : "\(statusText): \(message)"
    }
}

/// One instance of the plugin, driven the way the host drives it: every call from the thread
/// that runs the instance checks, bracketed for the host's thread bookkeeping.
final class CheckedInstance {
    let plugin: CheckedPlugin
    let host: CheckHost
    private(set) var instance: UnsafeMutableRawPointer?
    private(set) var destroyed = false
    /// Ledger ids of every struct handed to this instance.
    private(set) var handedOver: [Int] = []

    init(plugin: CheckedPlugin, host: CheckHost) {
        self.plugin = plugin
        self.host = host
    }

    private func call(_ body: (inout sluice_error) -> sluice_status, transformProcess: Bool = false) -> CallOutcome {
        var error = sluice_error()
        host.enteringCall(transformProcess: transformProcess)
        let status = body(&error)
        host.leftCall()
        return CallOutcome(status, error)
    }

    func create(_ configJSON: String) -> CallOutcome {
        call { error in plugin.hooks.create!(configJSON, host.api, &instance, &error) }
    }

    func open() -> CallOutcome {
        guard let hook = plugin.hooks.open else { return CallOutcome(SLUICE_OK, sluice_error()) }
        return call { error in hook(instance, &error) }
    }

    func close() -> CallOutcome {
        guard let hook = plugin.hooks.close else { return CallOutcome(SLUICE_OK, sluice_error()) }
        return call { error in hook(instance, &error) }
    }

    /// Destroys the instance and returns the labels of structs it never released.
    @discardableResult
    func destroy() -> [String] {
        guard !destroyed else { return [] }
        destroyed = true
        if instance != nil {
            host.enteringCall()
            plugin.hooks.destroy!(instance)
            host.leftCall()
        }
        host.markDestroyed()
        return ReleaseLedger.shared.unreleased(among: handedOver)
    }

    func next(schema: UnsafeMutablePointer<ArrowSchema>, array: UnsafeMutablePointer<ArrowArray>) -> CallOutcome {
        call { error in plugin.hooks.source_next!(instance, schema, array, &error) }
    }

    /// Hands a batch of `shape` over to `transform_process`; the output lands in `out`.
    func process(_ shape: BatchShape, number: Int, columns: [InputColumn],
                 outSchema: UnsafeMutablePointer<ArrowSchema>, outArray: UnsafeMutablePointer<ArrowArray>) -> CallOutcome {
        let inSchema = UnsafeMutablePointer<ArrowSchema>.allocate(capacity: 1)
        let inArray = UnsafeMutablePointer<ArrowArray>.allocate(capacity: 1)
        defer { inSchema.deallocate(); inArray.deallocate() }
        handedOver += TestBatches.make(shape, number: number, columns: columns, schema: inSchema, array: inArray)
        return call({ error in plugin.hooks.transform_process!(instance, inSchema, inArray, outSchema, outArray, &error) }, transformProcess: true)
    }

    func write(_ shape: BatchShape, number: Int, columns: [InputColumn]) -> CallOutcome {
        let schema = UnsafeMutablePointer<ArrowSchema>.allocate(capacity: 1)
        let array = UnsafeMutablePointer<ArrowArray>.allocate(capacity: 1)
        defer { schema.deallocate(); array.deallocate() }
        handedOver += TestBatches.make(shape, number: number, columns: columns, schema: schema, array: array)
        return call { error in plugin.hooks.sink_write!(instance, schema, array, &error) }
    }

    /// Snapshots; returns the state bytes (copied) after releasing them the way the host does.
    func snapshot(_ checkpoint: UInt64) -> (CallOutcome, [UInt8]?, String?) {
        guard let hook = plugin.hooks.snapshot else { return (CallOutcome(SLUICE_OK, sluice_error()), nil, nil) }
        var bytes = sluice_bytes()
        let outcome = call { error in hook(instance, checkpoint, &bytes, &error) }
        guard outcome.ok else { return (outcome, nil, nil) }
        var state: [UInt8] = []
        if let data = bytes.data, bytes.length > 0 {
            guard MemoryProbe.isReadable(data, count: bytes.length) else {
                return (outcome, nil, "snapshot(\(checkpoint)) returned \(bytes.length) bytes that are not readable")
            }
            state = Array(UnsafeBufferPointer(start: data, count: bytes.length))
        }
        bytes.release?(&bytes)
        return (outcome, state, nil)
    }

    func restore(_ checkpoint: UInt64, state: [UInt8]) -> CallOutcome {
        guard let hook = plugin.hooks.restore else { return CallOutcome(SLUICE_OK, sluice_error()) }
        return state.withUnsafeBufferPointer { buffer in
            call { error in hook(instance, checkpoint, buffer.baseAddress, buffer.count, &error) }
        }
    }

    func complete(_ checkpoint: UInt64) -> CallOutcome {
        guard let hook = plugin.hooks.notify_checkpoint_complete else { return CallOutcome(SLUICE_OK, sluice_error()) }
        return call { error in hook(instance, checkpoint, &error) }
    }

    func abort(_ checkpoint: UInt64) {
        guard let hook = plugin.hooks.notify_checkpoint_aborted else { return }
        _ = call { _ in hook(instance, checkpoint); return SLUICE_OK }
    }
}

/// Releases a batch the plugin produced, as the host does, and reports a release callback that
/// does not mark its struct released (the Arrow specification requires `release = NULL`).
func releaseProduced(schema: UnsafeMutablePointer<ArrowSchema>, array: UnsafeMutablePointer<ArrowArray>, what: String) -> [String] {
    var problems: [String] = []
    if let release = array.pointee.release {
        release(array)
        if array.pointee.release != nil { problems.append("the release callback of \(what)'s array did not set release to NULL") }
    } else {
        problems.append("\(what)'s array has no release callback")
    }
    if let release = schema.pointee.release {
        release(schema)
        if schema.pointee.release != nil { problems.append("the release callback of \(what)'s schema did not set release to NULL") }
    } else {
        problems.append("\(what)'s schema has no release callback")
    }
    return problems
}
