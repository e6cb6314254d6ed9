import DurableFiles
import Foundation
import SluiceCore

/// A sink swapped in through the admin API outlives the worker: it is recorded beside the
/// checkpoints, and a restarted worker runs it instead of the pipeline file's sink — as long
/// as the pipeline file's sink is still the one it replaced. Once the file's sink changes, the
/// file wins and the record is dropped.
///
/// Coordinator thread only.
enum SinkOverride {
    struct Record: Codable {
        /// The block's YAML and the plugin it names.
        var yaml: String
        var plugin: String?
        var file: String
        /// The pipeline file's sink when the swap happened.
        var replacedPlugin: String
        var replacedConfigJSON: String
    }

    static let recordName = "sink-override.json"

    static func save(_ record: Record, store: CheckpointStore) throws {
        try store.writeRecord(recordName, bytes: Array(try JSONEncoder().encode(record)))
    }

    static func clear(store: CheckpointStore) {
        do {
            try store.removeRecord(recordName)
        } catch {
            Log.warn("could not delete the sink override record: \(error)")
        }
    }

    /// The plan with the recorded sink in place, when the record still applies.
    static func apply(to plan: PipelinePlan, store: CheckpointStore, searchPath: PluginSearchPath) throws -> PipelinePlan {
        guard let data = store.readRecord(recordName) else { return plan }
        guard let record = try? JSONDecoder().decode(Record.self, from: Data(data)) else {
            Log.warn("ignoring the unreadable sink override \(store.describeRecord(recordName))")
            return plan
        }
        let sink = plan.spec.sink
        guard record.replacedPlugin == sink.plugin, record.replacedConfigJSON == sink.configJSON else {
            Log.info("the pipeline file's sink changed since the last swap; it replaces the swapped-in sink")
            clear(store: store)
            return plan
        }
        var spec = try PipelineLoader.parseOperator(yaml: record.yaml, file: record.file, plugin: record.plugin, role: .sink,
                                                    name: sink.name, environment: ProcessInfo.processInfo.environment)
        spec.name = sink.name
        let plugin = try PipelinePlan.loadPlugin(spec, searchPath: searchPath, baseDirectory: ".")
        Log.info("running the sink swapped in earlier (plugin \(plugin.name) from \(plugin.originalPath)) instead of the pipeline file's; see \(store.describeRecord(recordName))")
        return plan.replacingSink(spec, plugin: plugin)
    }
}
