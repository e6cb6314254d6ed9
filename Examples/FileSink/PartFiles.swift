import Glibc
import PluginKit

/// The file sink's half of the two-phase commit: epochs are staged as JSON-lines objects in the
/// operator's staging, and a sealed epoch is committed by copying it into the output directory
/// as `part-<id>.jsonl` (a temp file, fsync, rename), then removing it from staging; with
/// several lanes each writes `part-<id>-lane<L>.jsonl`, so lanes never take each other's name.
///
/// Every checkpoint gets a part file, an empty one when no rows came: a reader sees progress.
final class PartFiles: FileEpochStore {
    let files: EpochFiles
    let outputDirectory: String
    /// The lane, when the pipeline has several.
    let lane: Int?
    var sealsEmptyEpochs: Bool { true }

    init(staging: Staging, outputDirectory: String, lane: Int? = nil) {
        files = EpochFiles(staging: staging, suffix: ".jsonl")
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

    /// The part file is complete under its name before the staged object goes, so a crash
    /// between the two commits the epoch again, to the same name.
    func commit(_ epoch: UInt64, afterRestore: Bool) throws {
        try DurableFile.replace(partPath(epoch), bytes: try files.read(epoch))
        try files.remove(epoch)
    }

    /// A listed epoch whose sealed file is gone must have its part: it was committed before
    /// a crash. Neither means the folders were changed by hand.
    func isStaged(_ epoch: UInt64) throws -> Bool {
        if try files.isSealed(epoch) { return true }
        if DurableFile.exists(partPath(epoch)) { return false }
        throw PluginError("epoch \(epoch) is listed in the checkpoint but neither \(files.describe(epoch)) nor \(partPath(epoch)) exists; the staging was changed by hand")
    }
}
