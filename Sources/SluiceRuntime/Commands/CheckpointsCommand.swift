import ArgumentParser
import Foundation
import SluiceCore

struct CheckpointsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoints", abstract: "Inspect a checkpoint directory.", subcommands: [List.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List checkpoints and savepoints, newest first, with their state and validity.")
        @Argument(help: "The pipeline's checkpointing.directory: a local path or s3://bucket/prefix.") var directory: String
        @Option(name: .customLong("s3-endpoint"), help: "For s3://: the store's http(s)://host[:port] (default: $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL, else AWS).") var endpoint: String?
        @Option(name: .customLong("s3-region"), help: "For s3://: the region (default: $AWS_REGION, $AWS_DEFAULT_REGION, else us-east-1).") var region: String?

        func run() throws {
            let store: CheckpointStore
            let entries: [CheckpointEntry]
            let instances: [String]
            do {
                if directory.hasPrefix("s3://") {
                    let storage = try S3CheckpointStorage.open(directory: directory, settings: ObjectStoreSettings(endpoint: endpoint, region: region))
                    try storage.checkReachable()
                    store = CheckpointStore(storage: storage, localDirectory: "")
                } else {
                    guard FileManager.default.fileExists(atPath: directory) else {
                        printError("no checkpoint directory at \(directory)")
                        throw ExitCode.failure
                    }
                    store = try CheckpointStore(directory: directory)
                }
                entries = try store.entries()
                instances = try store.storage.folders().filter { $0.hasPrefix("instance-") }.sorted()
            } catch let error as CheckpointStoreError {
                printError("\(error)")
                throw ExitCode.failure
            }
            if entries.isEmpty {
                print("no checkpoints in \(store.directory)" + (instances.isEmpty ? "" : "; each instance keeps its own: \(instances.map { store.locate($0) }.joined(separator: ", "))"))
            }
            let formatter = ISO8601DateFormatter()
            for entry in entries {
                let name = entry.path.split(separator: "/").last.map(String.init) ?? entry.path
                switch entry.status {
                case .valid(let m):
                    let kind: String
                    if case .savepoint(let n) = m.kind { kind = "savepoint '\(n)'" } else { kind = "checkpoint" }
                    let created = formatter.string(from: Date(timeIntervalSince1970: Double(m.createdAtMilliseconds) / 1000))
                    let ops = m.operators.map { "\($0.operatorName)=\($0.state.count)B" }.joined(separator: " ")
                    var layout = m.layout == .single ? "" : "  instance \(m.layout.instance) of \(m.layout.shape)"
                    if m.epochsCommitted { layout += "  (stop: epochs committed, can start another layout)" }
                    print("\(pad(String(m.id), 8)) \(pad(kind, 12)) \(created)  \(entry.sizeBytes) bytes  pipeline \(m.pipeline)\(layout)  [\(ops)]  \(name)")
                case .invalid(let reason):
                    print("\(pad(entry.id.map(String.init) ?? "?", 8)) \(pad("INVALID", 12)) \(name): \(reason)")
                }
            }
        }
    }
}

/// Left-aligns `text` in `width` columns without cutting it.
func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}
