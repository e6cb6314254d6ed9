import Foundation
import PluginKit

/// A transactional file sink: rows become visible in `directory` only when the checkpoint
/// that covers them completes.
///
/// Each epoch (the rows between two barriers) is staged through the host's durable staging
/// (beside the checkpoints: a local directory or object storage). On a barrier the epoch is
/// sealed as `sealed-<id>.jsonl`; the sealed, uncommitted epochs are the snapshot. On
/// notify-complete every sealed epoch up to that id is committed: copied durably to
/// `directory/part-<id>.jsonl` under a temp name and renamed, then removed from staging.
/// After a restore, the epochs the restored state lists are committed again, which is
/// idempotent: an epoch whose staged object is gone and whose part file exists was committed
/// before the crash.
public final class FileSink: SinkPlugin {
    public struct Config: Decodable {
        /// Where committed part files go; created when missing.
        public var directory: String
    }

    public static let name = "file-sink"
    public static let version = "1.0.0"
    public static let description = "Writes rows as JSON lines, committing one file per checkpoint"
    public static let configSchema = #"""
    {"type":"object","required":["directory"],"additionalProperties":false,
     "properties":{"directory":{"type":"string","minLength":1,"description":"Folder for committed part files"}}}
    """#

    public static func validate(_ config: Config) throws {
        if config.directory.isEmpty { throw PluginError("directory must not be empty", configPath: "/directory") }
    }

    private let host: PluginHost
    private let parts: PartFiles
    private let commit: TwoPhaseCommit<PartFiles>
    private let encoder = JSONLineEncoder()

    public init(config: Config, host: PluginHost) throws {
        self.host = host
        parts = PartFiles(staging: try host.staging(), outputDirectory: config.directory,
                          lane: host.lane.count > 1 ? host.lane.index : nil)
        commit = TwoPhaseCommit(store: parts)
    }

    public func open() throws {
        try parts.prepareOutputDirectory()
        try commit.prepare()
    }

    public func write(_ batch: ArrowBatch) throws {
        let view = try batch.view()
        try parts.files.append(encoder.encode(view))
    }

    public func snapshot(checkpointID: UInt64) throws -> [UInt8] {
        _ = try commit.seal(checkpointID: checkpointID)
        if !host.exactlyOnce {
            // At-least-once: nothing to wait for; make the rows visible at once.
            try commit.checkpointComplete(checkpointID: checkpointID)
        }
        return PendingEpochs.encode(commit.pending)
    }

    public func checkpointComplete(checkpointID: UInt64) throws {
        try commit.checkpointComplete(checkpointID: checkpointID)
    }

    public func restore(checkpointID: UInt64, state: [UInt8]) throws {
        try parts.prepareOutputDirectory()
        try commit.restore(listing: PendingEpochs.decode(state, sink: FileSink.name))
        let committed = try commit.commitRestored()
        host.log(.info, "restored checkpoint \(checkpointID): re-committed \(committed.count) sealed epoch(s)")
    }

    public func close() throws {
        parts.files.closeCurrent()
    }
}

/// The body of this plugin's C entry point; `Entry/Entry.swift` exports it as
/// `sluice_plugin_entry`, so that the plugin's code can be linked into tests without the symbol.
public func fileSinkEntry(_ host: UInt32, _ descriptor: UnsafeMutablePointer<UnsafePointer<sluice_plugin_descriptor>?>?,
               _ error: UnsafeMutablePointer<sluice_error>?) -> sluice_status {
    PluginExport.entry(FileSink.self, hostABIVersion: host, descriptor: descriptor, error: error)
}
