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

    // MARK: - The rescale marker

    /// Written when an instance starts a new layout from a savepoint and removed once its first
    /// checkpoint is durable: a restart in between (a crash, a pod moved) resumes from that
    /// savepoint again instead of from anything the old layout left in the folder.
    static func rescaleMarker(in directory: String) -> String { directory + "/rescale-from-savepoint" }

    static func readRescaleMarker(in directory: String) -> String? {
        guard let bytes = try? DurableFile.read(rescaleMarker(in: directory)) else { return nil }
        let name = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return name.isEmpty ? nil : name
    }

    static func writeRescaleMarker(_ name: String, in directory: String) throws {
        try DurableFile.replace(rescaleMarker(in: directory), bytes: Array((name + "\n").utf8))
    }

    static func removeRescaleMarker(in directory: String) throws {
        guard DurableFile.exists(rescaleMarker(in: directory)) else { return }
        try DurableFile.remove(rescaleMarker(in: directory))
        try DurableFile.syncDirectory(directory)
    }
}
