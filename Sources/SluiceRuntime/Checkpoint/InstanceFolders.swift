import DurableFiles
import Foundation
import SluiceCore

/// Where each instance of a pipeline keeps its checkpoints under `checkpointing.directory`:
/// the directory itself for a pipeline of one instance, `instance-I` below it otherwise. A
/// rescale gathers the savepoints of one name from all of them.
///
/// Any thread.
enum InstanceFolders {
    static func directory(root: String, layout: PipelineLayout) -> String {
        layout.instances == 1 ? root : root + "/instance-\(layout.instance)"
    }

    /// Savepoint `name` of every instance found under `root`: in the root itself (a layout of
    /// one instance) and in each `instance-*` folder. A savepoint file that is there but unusable
    /// is an error: a rescale without it would lose that instance's positions.
    static func savepoints(named name: String, root: String) throws -> [CheckpointManifest] {
        var folders = [root]
        if let names = try? DurableFile.list(root) {
            folders += names.filter { $0.hasPrefix("instance-") }.sorted().map { root + "/" + $0 }
        }
        var found: [CheckpointManifest] = []
        for folder in folders where DurableFile.exists(folder + "/savepoints/" + name + CheckpointStore.fileExtension) {
            found.append(try CheckpointStore(directory: folder).savepoint(named: name))
        }
        return found
    }

    // MARK: - The start record

    /// Which savepoint this instance last started from, and whether a checkpoint has been
    /// durable since. Written (not yet checkpointed) when an instance starts from a savepoint,
    /// its own or a rescale; marked once its first checkpoint is durable:
    /// - before that, a restart (a crash, a pod moved, a supervisor restart without the flag)
    ///   starts from that savepoint again, not from anything an earlier history or layout left
    ///   in the folder;
    /// - after it, a restart still given `--from-savepoint` of that name (a pod whose arguments
    ///   were not changed back) resumes from its newest checkpoint instead of reading again
    ///   what it committed since.
    struct StartRecord: Equatable {
        var savepoint: String
        var checkpointed: Bool
    }

    static func startRecordPath(in directory: String) -> String { directory + "/start-from-savepoint" }

    static func readStartRecord(in directory: String) -> StartRecord? {
        guard let bytes = try? DurableFile.read(startRecordPath(in: directory)) else { return nil }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let name = lines.first, !name.isEmpty else { return nil }
        return StartRecord(savepoint: name, checkpointed: lines.dropFirst().contains("checkpointed"))
    }

    static func writeStartRecord(_ record: StartRecord, in directory: String) throws {
        let text = record.savepoint + "\n" + (record.checkpointed ? "checkpointed\n" : "")
        try DurableFile.replace(startRecordPath(in: directory), bytes: Array(text.utf8))
    }
}
