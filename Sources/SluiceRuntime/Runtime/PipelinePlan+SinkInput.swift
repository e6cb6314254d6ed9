import Foundation
import SluiceArrow
import SluiceCore

/// `sluice validate --connect` checks the columns reaching the sink against what the sink is
/// connected to (a table's column types), not only the names.
///
/// The chain's schemas are known before anything runs (the `output_schema` hooks). A sink whose
/// configuration schema has an `input_schema` property (column -> Arrow type, checked at open,
/// as the ClickHouse sink's) is opened with the declared input there, unless the pipeline sets
/// one itself. An error it then reports at `/input_schema/COLUMN` is placed where the upstream
/// operator's configuration names that column: the parser's column, the fn's output.
struct SinkInputCheck {
    /// The sink's configuration with `input_schema` filled in.
    var configJSON: String
    /// The columns reaching the sink, and the operators upstream of it, nearest first.
    var columns: [ArrowField]
    var upstream: [OperatorSpec]
}

extension PipelinePlan {
    /// The check for the sink `plugin`, or nil when it cannot be made (the sink takes no
    /// `input_schema`, the pipeline sets one, or the columns are known only at run time).
    func sinkInputForCheck(_ plugin: LoadedPlugin) -> SinkInputCheck? {
        let upstream = Array(([spec.source] + spec.transforms).reversed())
        guard let nearest = upstream.first, let columns = schemas.outputs[nearest.name],
              Self.declaresProperty("input_schema", in: plugin.configSchemaJSON),
              var config = (try? JSONSerialization.jsonObject(with: Data(spec.sink.configJSON.utf8))) as? [String: Any],
              config["input_schema"] == nil else { return nil }
        var declared: [String: String] = [:]
        for column in columns where declared[column.name] == nil { declared[column.name] = column.format.typeName }
        config["input_schema"] = declared
        guard let data = try? JSONSerialization.data(withJSONObject: config), let json = String(data: data, encoding: .utf8) else { return nil }
        return SinkInputCheck(configJSON: json, columns: columns, upstream: upstream)
    }

    /// `error` placed at the upstream declaration of the column it names, or nil when it is
    /// not about one column of the filled-in `input_schema`.
    func locateInputColumnError(_ error: OperatorError, upstream check: SinkInputCheck) -> String? {
        guard let path = error.configPath, path.hasPrefix("/input_schema/") else { return nil }
        let column = String(path.dropFirst("/input_schema/".count))
            .replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        for op in check.upstream {
            guard let location = op.config.location(ofString: column) else { continue }
            return "\(location): \(error) (column '\(column)' comes from \(op.label))"
        }
        return nil
    }

    private static func declaresProperty(_ name: String, in schemaJSON: String?) -> Bool {
        guard let schemaJSON, let schema = (try? JSONSerialization.jsonObject(with: Data(schemaJSON.utf8))) as? [String: Any],
              let properties = schema["properties"] as? [String: Any] else { return false }
        return properties[name] != nil
    }
}
