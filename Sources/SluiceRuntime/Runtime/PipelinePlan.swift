import Foundation
import PluginABI
import SluiceCore

/// A pipeline whose YAML parsed and whose plugins loaded, passed the handshake, have the
/// right kinds, and accepted their configuration blocks. Built without connecting anywhere,
/// so `sluice validate` and the worker share it.
struct PipelinePlan {
    let spec: PipelineSpec
    /// One loaded plugin per operator, in `spec.operators` order.
    let plugins: [LoadedPlugin]
    /// What the ABI 1.1 `output_schema` hooks told about the chain (see PipelinePlan+Schemas).
    var schemas = SchemaCheck()

    /// Loads and checks everything, collecting every error it can before throwing.
    static func load(path: String, searchPath: PluginSearchPath,
                     environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PipelinePlan {
        let spec = try PipelineLoader.load(path: path, environment: environment)
        let baseDirectory = (path as NSString).deletingLastPathComponent
        var errors: [String] = []
        var plugins: [LoadedPlugin] = []
        var checked: [LoadedPlugin?] = []  // per operator: nil when it failed the checks above
        for op in spec.operators {
            do {
                let plugin = try loadPlugin(op, searchPath: searchPath, baseDirectory: baseDirectory.isEmpty ? "." : baseDirectory)
                try PluginLoader.checkKind(plugin, role: op.role, operatorName: op.name, location: op.pluginLocation)
                let configErrors = validateConfig(op, plugin: plugin)
                errors += configErrors
                plugins.append(plugin)
                checked.append(configErrors.isEmpty ? plugin : nil)
            } catch let error as PluginLoadError {
                errors.append(error.description.hasPrefix(op.pluginLocation.description) ? error.description : "\(op.pluginLocation): \(error.description)")
                checked.append(nil)
            }
        }
        // Column names and types along source -> transforms, where every plugin declares them.
        let schemas = checkSchemas(spec.operators, plugins: checked)
        errors += schemas.errors
        guard errors.isEmpty else { throw PlanError(messages: errors) }
        return PipelinePlan(spec: spec, plugins: plugins, schemas: schemas)
    }

    static func loadPlugin(_ op: OperatorSpec, searchPath: PluginSearchPath, baseDirectory: String) throws -> LoadedPlugin {
        let (path, tried) = searchPath.resolve(op.plugin, relativeTo: baseDirectory)
        guard let path else {
            if PluginSearchPath.isPath(op.plugin) {
                throw PluginLoadError(.notFound, "plugin file \(tried.first ?? op.plugin) does not exist; check the path (relative paths start at the pipeline file's folder)")
            }
            let where_ = searchPath.directories.isEmpty ? "(the search path is empty)" : searchPath.directories.joined(separator: ", ")
            throw PluginLoadError(.notFound, "no plugin named '\(op.plugin)' in the plugin search path \(where_); looked for \(PluginSearchPath.candidateFileNames(for: op.plugin).joined(separator: ", ")). Give a path to the .so, or add its folder with --plugin-path or SLUICE_PLUGIN_PATH")
        }
        return try PluginLoader.load(path)
    }

    /// The plugin's JSON schema first (unknown keys, types), then its own validate hook.
    static func validateConfig(_ op: OperatorSpec, plugin: LoadedPlugin) -> [String] {
        if let schema = plugin.configSchemaJSON, !schema.isEmpty {
            let schemaErrors = ConfigSchemaValidator.validate(op.config, schemaJSON: schema, operatorName: op.label)
            if !schemaErrors.isEmpty { return schemaErrors.map(\.description) }
        }
        guard let validate = plugin.descriptor.pointee.validate_config else { return [] }
        var error = sluice_error()
        let status = op.configJSON.withCString { validate($0, &error) }
        guard status != SLUICE_OK else { return [] }
        let pointer = PluginErrorText.configPath(error)
        let location = op.location(ofPointer: pointer)
        let message = PluginErrorText.message(error)
        return ["\(location): operator '\(op.name)' (plugin \(plugin.name)): \(message.isEmpty ? "configuration rejected without a reason" : message)"]
    }
}

/// Everything wrong with a pipeline, one problem per line.
struct PlanError: Error, CustomStringConvertible {
    let messages: [String]
    var description: String { messages.joined(separator: "\n") }
}
