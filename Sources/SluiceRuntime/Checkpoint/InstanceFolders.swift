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

    // MARK: - The start marker

    /// Written when an instance starts from a savepoint (its own, or a rescale) and removed
    /// once its first checkpoint is durable: a restart in between (a crash, a pod moved, a
    /// supervisor restart without the flag) starts from that savepoint again, instead of from
    /// anything an earlier history or layout left in the folder.
    static func startMarker(in directory: String) -> String { directory + "/start-from-savepoint" }

    static func readStartMarker(in directory: String) -> String? {
        guard let bytes = try? DurableFile.read(startMarker(in: directory)) else { return nil }
        let name = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return name.isEmpty ? nil : name
    }

    static func writeStartMarker(_ name: String, in directory: String) throws {
        try DurableFile.replace(startMarker(in: directory), bytes: Array((name + "\n").utf8))
    }

    static func removeStartMarker(in directory: String) throws {
        guard DurableFile.exists(startMarker(in: directory)) else { return }
        try DurableFile.remove(startMarker(in: directory))
        try DurableFile.syncDirectory(directory)
    }
}
