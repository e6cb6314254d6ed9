import Foundation
import PluginABI

/// Turns a Swift plugin type into the C descriptor of `sluice_plugin.h`.
///
/// A plugin's whole export is one function:
///
///     @_cdecl("sluice_plugin_entry")
///     public func sluicePluginEntry(_ host: UInt32,
///                                   _ descriptor: UnsafeMutablePointer<UnsafePointer<sluice_plugin_descriptor>?>?,
///                                   _ error: UnsafeMutablePointer<sluice_error>?) -> sluice_status {
///         PluginExport.entry(FileSink.self, hostABIVersion: host, descriptor: descriptor, error: error)
///     }
///
/// Each plugin image links its own copy of the plugin kit, so the globals below are per image.
public enum PluginExport {
    // nonisolated(unsafe): written only under `lock` (the first handshake) and read afterwards;
    // the host's handshake happens before any call into the instance, so no reader can race it.
    nonisolated(unsafe) private static var pluginType: (any SluicePlugin.Type)?
    nonisolated(unsafe) private static var descriptor: UnsafeMutablePointer<sluice_plugin_descriptor>?
    private static let lock = NSLock()

    /// Answers the host's handshake: checks its ABI major and returns the static descriptor.
    /// Called on the host's main thread.
    public static func entry<P: SluicePlugin>(
        _ type: P.Type, hostABIVersion: UInt32,
        descriptor out: UnsafeMutablePointer<UnsafePointer<sluice_plugin_descriptor>?>?,
        error: UnsafeMutablePointer<sluice_error>?
    ) -> sluice_status {
        let ours = UInt32(SLUICE_ABI_VERSION_MAJOR << 16 | SLUICE_ABI_VERSION_MINOR)
        guard hostABIVersion >> 16 == ours >> 16 else {
            write(error, PluginError("plugin '\(P.name)' speaks sluice ABI \(ours >> 16).\(ours & 0xFFFF) but the host speaks \(hostABIVersion >> 16).\(hostABIVersion & 0xFFFF)"))
            return SLUICE_ERROR
        }
        lock.lock()
        defer { lock.unlock() }
        if descriptor == nil {
            pluginType = type
            descriptor = makeDescriptor(type, abiVersion: ours)
        }
        out?.pointee = UnsafePointer(descriptor!)
        return SLUICE_OK
    }

    private static func makeDescriptor<P: SluicePlugin>(_ type: P.Type, abiVersion: UInt32) -> UnsafeMutablePointer<sluice_plugin_descriptor> {
        let kind: sluice_plugin_kind
        if P.self is any SourcePlugin.Type { kind = SLUICE_KIND_SOURCE }
        else if P.self is any TransformPlugin.Type { kind = SLUICE_KIND_TRANSFORM }
        else if P.self is any SinkPlugin.Type { kind = SLUICE_KIND_SINK }
        else { preconditionFailure("\(P.self) must conform to SourcePlugin, TransformPlugin or SinkPlugin") }

        let d = UnsafeMutablePointer<sluice_plugin_descriptor>.allocate(capacity: 1)
        d.initialize(to: sluice_plugin_descriptor())
        // Strings live as long as the image, which the host never unloads.
        d.pointee.struct_size = UInt32(MemoryLayout<sluice_plugin_descriptor>.size)
        d.pointee.abi_version = abiVersion
        d.pointee.kind = kind
        d.pointee.name = UnsafePointer(strdup(P.name))
        d.pointee.version = UnsafePointer(strdup(P.version))
        d.pointee.description = UnsafePointer(strdup(P.description))
        d.pointee.config_schema_json = UnsafePointer(strdup(P.configSchema))
        d.pointee.validate_config = { json, error in PluginExport.validate(json, error) }
        d.pointee.create = { json, host, instance, error in PluginExport.create(json, host, instance, error) }
        d.pointee.open = { instance, error in PluginExport.call(instance, error) { try $0.plugin.open() } }
        d.pointee.close = { instance, error in PluginExport.call(instance, error) { try $0.plugin.close() } }
        d.pointee.destroy = { instance in
            guard let instance else { return }
            Unmanaged<InstanceBox>.fromOpaque(instance).release()
        }
        switch kind {
        case SLUICE_KIND_SOURCE: d.pointee.source_next = { i, s, a, e in PluginExport.sourceNext(i, s, a, e) }
        case SLUICE_KIND_TRANSFORM: d.pointee.transform_process = { i, s, a, os, oa, e in PluginExport.process(i, s, a, os, oa, e) }
        default: d.pointee.sink_write = { i, s, a, e in PluginExport.sinkWrite(i, s, a, e) }
        }
        d.pointee.snapshot = { instance, id, state, error in
            PluginExport.call(instance, error) { box in
                let bytes = try box.plugin.snapshot(checkpointID: id)
                PluginExport.export(bytes, into: state)
            }
        }
        d.pointee.restore = { instance, id, data, length, error in
            PluginExport.call(instance, error) { box in
                let bytes = length == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: length))
                try box.plugin.restore(checkpointID: id, state: bytes)
            }
        }
        d.pointee.notify_checkpoint_complete = { instance, id, error in
            PluginExport.call(instance, error) { try $0.plugin.checkpointComplete(checkpointID: id) }
        }
        d.pointee.notify_checkpoint_aborted = { instance, id in
            guard let instance else { return }
            Unmanaged<InstanceBox>.fromOpaque(instance).takeUnretainedValue().plugin.checkpointAborted(checkpointID: id)
        }
        // ABI 1.1. A plugin that keeps the default `outputSchema` (nil) answers "unknown".
        d.pointee.output_schema = { json, input, out, error in PluginExport.outputSchema(json, input, out, error) }
        return d
    }

    // MARK: - Instances

    /// What `create` hands the host as the opaque instance pointer.
    final class InstanceBox {
        let plugin: any SluicePlugin
        let hostAPI: UnsafePointer<sluice_host_api>
        init(plugin: any SluicePlugin, hostAPI: UnsafePointer<sluice_host_api>) {
            self.plugin = plugin
            self.hostAPI = hostAPI
        }
    }

    private static func validate(_ json: UnsafePointer<CChar>?, _ error: UnsafeMutablePointer<sluice_error>?) -> sluice_status {
        guard let type = pluginType else { return SLUICE_ERROR }
        do {
            try validateOpened(type, json: json)
            return SLUICE_OK
        } catch let thrown {
            write(error, thrown)
            return SLUICE_ERROR
        }
    }

    private static func validateOpened<P: SluicePlugin>(_ type: P.Type, json: UnsafePointer<CChar>?) throws {
        try P.validate(try decode(P.Config.self, json))
    }

    private static func create(_ json: UnsafePointer<CChar>?, _ host: UnsafePointer<sluice_host_api>?,
                               _ instance: UnsafeMutablePointer<UnsafeMutableRawPointer?>?,
                               _ error: UnsafeMutablePointer<sluice_error>?) -> sluice_status {
        guard let type = pluginType, let host, let instance else { return SLUICE_ERROR }
        do {
            let plugin = try createOpened(type, json: json, host: PluginHost(api: host))
            instance.pointee = Unmanaged.passRetained(InstanceBox(plugin: plugin, hostAPI: host)).toOpaque()
            return SLUICE_OK
        } catch let thrown {
            write(error, thrown)
            return SLUICE_ERROR
        }
    }

    private static func outputSchema(_ json: UnsafePointer<CChar>?, _ input: UnsafePointer<ArrowSchema>?,
                                     _ out: UnsafeMutablePointer<ArrowSchema>?, _ error: UnsafeMutablePointer<sluice_error>?) -> sluice_status {
        guard let type = pluginType, let out else { return SLUICE_ERROR }
        do {
            if let fields = try outputSchemaOpened(type, json: json, input: input) { ArrowField.export(fields, to: out) }
            return SLUICE_OK
        } catch let thrown {
            write(error, thrown)
            return SLUICE_ERROR
        }
    }

    private static func outputSchemaOpened<P: SluicePlugin>(_ type: P.Type, json: UnsafePointer<CChar>?,
                                                            input: UnsafePointer<ArrowSchema>?) throws -> [ArrowField]? {
        let fields = try input.map { try ArrowField.fields(of: $0) }
        return try P.outputSchema(config: try decode(P.Config.self, json), input: fields)
    }

    private static func createOpened<P: SluicePlugin>(_ type: P.Type, json: UnsafePointer<CChar>?, host: PluginHost) throws -> any SluicePlugin {
        let config = try decode(P.Config.self, json)
        try P.validate(config)
        return try P(config: config, host: host)
    }

    // MARK: - Data

    private static func sourceNext(_ instance: UnsafeMutableRawPointer?, _ schema: UnsafeMutablePointer<ArrowSchema>?,
                                   _ array: UnsafeMutablePointer<ArrowArray>?, _ error: UnsafeMutablePointer<sluice_error>?) -> sluice_status {
        var result = SLUICE_OK
        let status = call(instance, error) { box in
            switch try (box.plugin as! any SourcePlugin).next() {
            case .batch(let batch): batch.move(toSchema: schema!, array: array!)
            case .noData: result = SLUICE_NO_DATA
            case .endOfStream: result = SLUICE_END_OF_STREAM
            }
        }
        return status == SLUICE_OK ? result : status
    }

    private static func process(_ instance: UnsafeMutableRawPointer?, _ inSchema: UnsafeMutablePointer<ArrowSchema>?,
                                _ inArray: UnsafeMutablePointer<ArrowArray>?, _ outSchema: UnsafeMutablePointer<ArrowSchema>?,
                                _ outArray: UnsafeMutablePointer<ArrowArray>?, _ error: UnsafeMutablePointer<sluice_error>?) -> sluice_status {
        call(instance, error) { box in
            let input = ArrowBatch(movingFrom: inSchema!, array: inArray!)
            let output = try (box.plugin as! any TransformPlugin).process(input)
            output.move(toSchema: outSchema!, array: outArray!)
        }
    }

    private static func sinkWrite(_ instance: UnsafeMutableRawPointer?, _ schema: UnsafeMutablePointer<ArrowSchema>?,
                                  _ array: UnsafeMutablePointer<ArrowArray>?, _ error: UnsafeMutablePointer<sluice_error>?) -> sluice_status {
        call(instance, error) { box in
            try (box.plugin as! any SinkPlugin).write(ArrowBatch(movingFrom: schema!, array: array!))
        }
    }

    // MARK: - Helpers

    private static func call(_ instance: UnsafeMutableRawPointer?, _ error: UnsafeMutablePointer<sluice_error>?,
                             _ body: (InstanceBox) throws -> Void) -> sluice_status {
        guard let instance else {
            write(error, PluginError("called with a NULL instance"))
            return SLUICE_ERROR
        }
        do {
            try body(Unmanaged<InstanceBox>.fromOpaque(instance).takeUnretainedValue())
            return SLUICE_OK
        } catch let thrown {
            write(error, thrown)
            return SLUICE_ERROR
        }
    }

    private static func decode<C: Decodable>(_ type: C.Type, _ json: UnsafePointer<CChar>?) throws -> C {
        let text = json.map { String(cString: $0) } ?? "{}"
        do {
            return try JSONDecoder().decode(C.self, from: Data(text.utf8))
        } catch let error as DecodingError {
            throw PluginError(configurationMessage(error), configPath: jsonPointer(error))
        }
    }

    /// State bytes handed to the host; freed by the host through `release`.
    private static func export(_ bytes: [UInt8], into state: UnsafeMutablePointer<sluice_bytes>?) {
        guard let state else { return }
        guard !bytes.isEmpty else { state.pointee = sluice_bytes(); return }
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: bytes.count)
        buffer.initialize(from: bytes, count: bytes.count)
        state.pointee = sluice_bytes(data: UnsafePointer(buffer), length: bytes.count, release: { s in
            guard let s, let data = s.pointee.data else { return }
            UnsafeMutablePointer(mutating: data).deallocate()
            s.pointee.data = nil
            s.pointee.release = nil
        }, private_data: nil)
    }

    static func write(_ out: UnsafeMutablePointer<sluice_error>?, _ error: Error) {
        guard let out else { return }
        let pluginError: PluginError
        switch error {
        case let error as PluginError: pluginError = error
        case let problem as ConfigProblem: pluginError = PluginError(problem.message, configPath: problem.configPath)
        default: pluginError = PluginError(String(describing: error))
        }
        copyCString(pluginError.message, into: &out.pointee.message)
        copyCString(pluginError.configPath ?? "", into: &out.pointee.config_path)
    }

    private static func copyCString<T>(_ string: String, into tuple: inout T) {
        withUnsafeMutableBytes(of: &tuple) { raw in
            let bytes = Array(string.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
    }

    // MARK: - Decoding errors as configuration errors

    private static func jsonPointer(_ error: DecodingError) -> String {
        let path: [CodingKey]
        switch error {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): path = c.codingPath
        case .keyNotFound(_, let c): path = c.codingPath
        @unknown default: path = []
        }
        return path.map { "/" + ($0.intValue.map(String.init) ?? $0.stringValue) }.joined()
    }

    private static func configurationMessage(_ error: DecodingError) -> String {
        func key(_ path: [CodingKey]) -> String {
            path.isEmpty ? "the configuration" : "'" + path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".") + "'"
        }
        switch error {
        case .typeMismatch(let type, let c): return "\(key(c.codingPath)) must be \(describe(type))"
        case .valueNotFound(let type, let c): return "\(key(c.codingPath)) must be \(describe(type)), not null"
        case .keyNotFound(let k, let c): return "missing required key '\((c.codingPath + [k]).map { $0.stringValue }.joined(separator: "."))'"
        case .dataCorrupted(let c): return "\(key(c.codingPath)): \(c.debugDescription)"
        @unknown default: return "invalid configuration"
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Int.Type, is Int64.Type, is UInt64.Type, is Int32.Type, is UInt32.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") { return "a list" }
            if name.hasPrefix("Dictionary") { return "a mapping" }
            return "a \(name)"
        }
    }
}
