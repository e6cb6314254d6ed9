import DurableFiles
import Foundation
import SluiceCore

/// Where each instance of a pipeline keeps its checkpoints under `checkpointing.directory`
/// (a local path or an s3:// prefix): the root itself for a pipeline of one instance,
/// `instance-I` below it otherwise. Instances never touch each other's folder; a rescale
/// gathers the savepoints of one name from all of them.
///
/// Any thread.
struct InstanceFolders {
    /// The pipeline's root.
    let storage: any CheckpointStorage
    /// Its local counterpart: the root itself when local, `local_directory` for an s3:// root.
    let localDirectory: String

    /// The root `settings` name. An s3:// root is reached as `checkpointing.s3` and the
    /// environment say; nothing is contacted yet.
    static func open(_ settings: CheckpointSettings, pipeline: String) throws -> InstanceFolders {
        let local = localRoot(settings, pipeline: pipeline)
        guard settings.isObjectStore else {
            return InstanceFolders(storage: try LocalCheckpointStorage(directory: settings.directory), localDirectory: local)
        }
        return InstanceFolders(storage: try S3CheckpointStorage.open(directory: settings.directory, settings: settings.objectStore),
                               localDirectory: local)
    }

    /// The local half of the root: the directory itself, or `local_directory` (default
    /// `/tmp/sluice/<pipeline>`) for an s3:// root. Nothing is opened or created.
    static func localRoot(_ settings: CheckpointSettings, pipeline: String) -> String {
        settings.isObjectStore ? settings.localDirectory ?? NSTemporaryDirectory() + "sluice/" + pipeline : settings.directory
    }

    /// This instance's local directory (where its lock is), without contacting the store.
    static func localDirectory(_ settings: CheckpointSettings, pipeline: String, layout: PipelineLayout) -> String {
        let root = localRoot(settings, pipeline: pipeline)
        return layout.instances > 1 ? root + "/instance-\(layout.instance)" : root
    }

    /// The folder of this instance (both halves).
    func instance(_ layout: PipelineLayout) -> InstanceFolders {
        guard layout.instances > 1 else { return self }
        let folder = "instance-\(layout.instance)"
        return InstanceFolders(storage: storage.below(folder), localDirectory: localDirectory + "/" + folder)
    }

    /// The store of this instance, its local directory created.
    func store(_ layout: PipelineLayout) throws -> CheckpointStore {
        let folders = instance(layout)
        do { try DurableFile.makeDirectories(folders.localDirectory) } catch {
            throw CheckpointStoreError(message: "could not create the local directory \(folders.localDirectory): \(error)")
        }
        return CheckpointStore(storage: folders.storage, localDirectory: folders.localDirectory)
    }

    /// Savepoint `name` of every instance found under the root: in the root itself (a layout
    /// of one instance) and in each `instance-*` folder. A savepoint that is there but unusable
    /// is an error: a rescale without it would lose that instance's positions.
    func savepoints(named name: String) throws -> [CheckpointManifest] {
        var stores = [CheckpointStore(storage: storage, localDirectory: localDirectory)]
        stores += try storage.folders().filter { $0.hasPrefix("instance-") }.sorted()
            .map { CheckpointStore(storage: storage.below($0), localDirectory: localDirectory + "/" + $0) }
        var found: [CheckpointManifest] = []
        for store in stores where try store.hasSavepoint(named: name) {
            found.append(try store.savepoint(named: name))
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

    static let startRecordName = "start-from-savepoint"

    static func readStartRecord(in store: CheckpointStore) -> StartRecord? {
        guard let bytes = store.readRecord(startRecordName) else { return nil }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard let name = lines.first, !name.isEmpty else { return nil }
        return StartRecord(savepoint: name, checkpointed: lines.dropFirst().contains("checkpointed"))
    }

    static func writeStartRecord(_ record: StartRecord, in store: CheckpointStore) throws {
        let text = record.savepoint + "\n" + (record.checkpointed ? "checkpointed\n" : "")
        try store.writeRecord(startRecordName, bytes: Array(text.utf8))
    }
}
