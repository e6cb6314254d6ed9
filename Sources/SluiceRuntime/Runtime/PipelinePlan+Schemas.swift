import PluginABI
import SluiceArrow
import SluiceCore

/// What the ABI 1.1 `output_schema` hooks told about a pipeline before it runs.
struct SchemaCheck {
    /// Column errors, each at the file, line and column of the configuration value at fault.
    var errors: [String] = []
    /// Where checks stopped because a plugin does not declare its output, for `sluice validate`.
    var notes: [String] = []
    /// The declared output of each source or transform, by operator name, when known.
    var outputs: [String: [ArrowField]] = [:]
}

extension PipelinePlan {
    // MARK: - Schemas along the chain

    /// Asks the source, then each transform in order, for the schema it emits given the schema
    /// of its input, so a transform can say that a column it needs is missing or has a type it
    /// cannot take, without connecting anywhere. Stops at the first operator that failed an
    /// earlier check (its errors are reported already) or reports an error; past a plugin that
    /// lacks the hook (built against ABI 1.0) or answers "unknown", nothing is checked and a
    /// note says so: those transforms check their columns on the first batch instead.
    ///
    /// - Parameter plugins: per operator, its plugin, or nil when it failed an earlier check.
    /// Main thread (like all of plan loading).
    static func checkSchemas(_ operators: [OperatorSpec], plugins: [LoadedPlugin?]) -> SchemaCheck {
        var result = SchemaCheck()
        var upstream: [ArrowField]?
        var blocker: String?  // why `upstream` is unknown
        for (op, plugin) in zip(operators, plugins) {
            switch op.role {
            case .source, .transform: break
            case .sink, .deadLetter: continue
            }
            guard let plugin else { return result }
            if let blocker {
                result.notes.append("note: the columns reaching \(op.label) (plugin \(plugin.name)) are not checked before the run: \(blocker); a missing column or wrong type shows on the first batch instead")
                continue
            }
            guard let hook = outputSchemaHook(plugin) else {
                blocker = "\(op.label) (plugin \(plugin.name), ABI \(plugin.abiVersionString)) does not declare the columns it emits (output_schema, ABI 1.1)"
                continue
            }
            switch callOutputSchema(hook, op: op, plugin: plugin, input: upstream) {
            case .failure(let failure):
                result.errors.append(failure.description)
                return result
            case .success(nil):
                blocker = "\(op.label) (plugin \(plugin.name)) knows the columns it emits only at run time"
            case .success(let fields?):
                result.outputs[op.name] = fields
                upstream = fields
            }
        }
        return result
    }

    /// The descriptor's `output_schema`, read only when its `struct_size` covers the member.
    static func outputSchemaHook(_ plugin: LoadedPlugin) -> OutputSchemaHook? {
        let size = Int(UnsafeRawPointer(plugin.descriptor).load(as: UInt32.self))
        let end = MemoryLayout<sluice_plugin_descriptor>.offset(of: \.output_schema)! + MemoryLayout<OutputSchemaHook>.size
        guard size >= end else { return nil }
        return plugin.descriptor.pointee.output_schema
    }

    typealias OutputSchemaHook = @convention(c) (UnsafePointer<CChar>?, UnsafePointer<ArrowSchema>?,
                                                 UnsafeMutablePointer<ArrowSchema>?, UnsafeMutablePointer<sluice_error>?) -> sluice_status

    /// One call of the hook: the declared columns, nil for "unknown", or an error located in
    /// the pipeline file like the validate hook's.
    private static func callOutputSchema(_ hook: OutputSchemaHook, op: OperatorSpec, plugin: LoadedPlugin,
                                         input: [ArrowField]?) -> Result<[ArrowField]?, SchemaFailure> {
        var out = ArrowSchema()
        var error = sluice_error()
        var inputSchema = ArrowSchema()
        if let input { ArrowField.export(input, to: &inputSchema) }
        defer { inputSchema.release?(&inputSchema) }
        let status = op.configJSON.withCString { json in
            withUnsafePointer(to: &inputSchema) { inputPointer in
                hook(json, input == nil ? nil : inputPointer, &out, &error)
            }
        }
        let prefix = "operator '\(op.name)' (plugin \(plugin.name))"
        guard status == SLUICE_OK else {
            out.release?(&out)
            let message = PluginErrorText.message(error)
            return .failure(SchemaFailure("\(op.location(ofPointer: PluginErrorText.configPath(error))): \(prefix): \(message.isEmpty ? "its input columns were rejected without a reason" : message)"))
        }
        guard out.release != nil else { return .success(nil) }
        defer { out.release?(&out) }
        do {
            return .success(try withUnsafePointer(to: &out) { try ArrowField.fields(of: $0) })
        } catch {
            return .failure(SchemaFailure("\(op.pluginLocation): \(prefix) declared an unreadable output schema (\(error)); this is a bug in the plugin"))
        }
    }

    struct SchemaFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
