import ArgumentParser
import Foundation
import SluiceCore

struct CheckpointsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoints", abstract: "Inspect a checkpoint directory.", subcommands: [List.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List checkpoints and savepoints, newest first, with their state and validity.")
        @Argument(help: "The pipeline's checkpointing.directory.") var directory: String

        func run() throws {
            guard FileManager.default.fileExists(atPath: directory) else {
                printError("no checkpoint directory at \(directory)")
                throw ExitCode.failure
            }
            let store = try CheckpointStore(directory: directory)
            let entries = store.entries()
            if entries.isEmpty {
                let instances = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix("instance-") }.sorted()
                print("no checkpoints in \(directory)" + (instances.isEmpty ? "" : "; each instance keeps its own: \(instances.map { directory + "/" + $0 }.joined(separator: ", "))"))
            }
            let formatter = ISO8601DateFormatter()
            for entry in entries {
                let name = (entry.path as NSString).lastPathComponent
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
