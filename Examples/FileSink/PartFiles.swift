import Glibc
import PluginKit

/// The file sink's half of the two-phase commit: epochs are staged as JSON-lines files in the
/// operator's state directory, and a sealed epoch is committed by an atomic rename into the
/// output directory as `part-<id>.jsonl` (a copy then a rename across file systems); with
/// several lanes each writes `part-<id>-lane<L>.jsonl`, so lanes never take each other's name.
///
/// Every checkpoint gets a part file, an empty one when no rows came: a reader sees progress.
final class PartFiles: FileEpochStore {
    let files: EpochFiles
    let outputDirectory: String
    /// The lane, when the pipeline has several.
    let lane: Int?
    var sealsEmptyEpochs: Bool { true }

    init(stagingDirectory: String, outputDirectory: String, lane: Int? = nil) {
        files = EpochFiles(directory: stagingDirectory, suffix: ".jsonl")
        self.outputDirectory = outputDirectory
        self.lane = lane
    }

    static func partName(_ epoch: UInt64, lane: Int? = nil) -> String {
        let digits = String(epoch)
        return "part-" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + (lane.map { "-lane\($0)" } ?? "") + ".jsonl"
    }

    func partPath(_ epoch: UInt64) -> String { outputDirectory + "/" + PartFiles.partName(epoch, lane: lane) }

    func prepareOutputDirectory() throws {
        try DurableFile.makeDirectories(outputDirectory)
    }

    /// The rename moves the sealed file away, which is the kit's "removed from staging".
    func commit(_ epoch: UInt64, afterRestore: Bool) throws {
        let sealed = files.sealedPath(epoch), part = partPath(epoch)
        do {
            try DurableFile.renameDurably(sealed, to: part)
        } catch let error as DurableFileError where error.code == EXDEV {
            try DurableFile.copy(sealed, to: part)
            try files.remove(epoch)
        }
    }

    /// A listed epoch whose sealed file is gone must have its part: it was committed before
    /// a crash. Neither means the folders were changed by hand.
    func isStaged(_ epoch: UInt64) throws -> Bool {
        if files.isSealed(epoch) { return true }
        if DurableFile.exists(partPath(epoch)) { return false }
        throw PluginError("epoch \(epoch) is listed in the checkpoint but neither \(files.sealedPath(epoch)) nor \(partPath(epoch)) exists; the staging folder was changed by hand")
    }
}
