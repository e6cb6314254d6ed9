import Foundation
import PluginKit

/// Emits the lines of a file as a binary `payload` column, `repeat` times over: replays
/// recorded messages into a pipeline, and feeds the parser and scaling benchmarks. Of the
/// `lines × repeat` records, lane L of N emits those whose index k has k mod N = L (ABI 1.2).
/// Its checkpoint state is the number of records this lane emitted, so a restored pipeline
/// resumes after the last one; it resumes only in the layout that wrote the state.
final class LineSource: SourcePlugin {
    struct Config: Decodable {
        var path: String
        var `repeat`: Int?
        var batchSize: Int?

        enum CodingKeys: String, CodingKey { case path, `repeat`, batchSize = "batch_size" }
    }

    static let name = "line-source"
    static let version = "1.0.0"
    static let description = "Emits the lines of a file as a payload column"
    static let configSchema = #"""
    {"type":"object","required":["path"],"additionalProperties":false,"properties":{
      "path":{"type":"string","minLength":1,"description":"a text file, one message per line"},
      "repeat":{"type":"integer","minimum":1,"description":"how many times to emit the file (default 1)"},
      "batch_size":{"type":"integer","minimum":1,"maximum":1048576,"description":"lines per batch (default 4096)"}}}
    """#

    static func validate(_ config: Config) throws {
        guard FileManager.default.isReadableFile(atPath: config.path) else {
            throw PluginError("cannot read \(config.path)", configPath: "/path")
        }
    }

    static func outputSchema(config: Config, input: [ArrowField]?) throws -> [ArrowField]? {
        [ArrowField(name: "payload", format: .binary, nullable: false)]
    }

    private let data: Data
    /// Start and end offsets of each line in `data`.
    private let lines: [(Int, Int)]
    private let total: Int
    private let batchSize: Int
    private let lane: (index: Int, count: Int)
    /// Records this lane emitted; its j-th is record `lane.index + j × lane.count`.
    private var emitted = 0
    private var restored = false

    init(config: Config, host: PluginHost) throws {
        guard let data = FileManager.default.contents(atPath: config.path) else {
            throw PluginError("cannot read \(config.path)", configPath: "/path")
        }
        self.data = data
        var lines: [(Int, Int)] = []
        data.withUnsafeBytes { raw in
            var start = 0
            for i in 0..<raw.count where raw[i] == UInt8(ascii: "\n") {
                if i > start { lines.append((start, i)) }
                start = i + 1
            }
            if start < raw.count { lines.append((start, raw.count)) }
        }
        self.lines = lines
        lane = host.lane
        let all = lines.count * (config.repeat ?? 1)
        total = all > lane.index ? (all - lane.index + lane.count - 1) / lane.count : 0
        batchSize = config.batchSize ?? 4096
    }

    func next() throws -> SourceOutput {
        guard emitted < total else { return .endOfStream }
        let count = min(batchSize, total - emitted)
        let payload = ArrowColumnBuilder(name: "payload", format: .binary, nullable: false, capacity: count)
        data.withUnsafeBytes { raw in
            for j in emitted..<(emitted + count) {
                let (start, end) = lines[(lane.index + j * lane.count) % lines.count]
                payload.append(bytes: UnsafeRawBufferPointer(rebasing: raw[start..<end]))
            }
        }
        emitted += count
        return .batch(ArrowBatchBuilder(columns: [payload]).finish())
    }

    func snapshot(checkpointID: UInt64) throws -> [UInt8] {
        withUnsafeBytes(of: UInt64(emitted).littleEndian) { Array($0) }
    }

    func restore(checkpointID: UInt64, state: [UInt8]) throws {
        guard state.count == 8 else { throw PluginError("line-source state has \(state.count) bytes, expected 8") }
        guard !restored else { throw PluginError("line-source cannot be rescaled: its state counts records of one lane layout") }
        restored = true
        emitted = Int(state.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) })
    }
}

@_cdecl("sluice_plugin_entry")
public func sluicePluginEntry(_ host: UInt32, _ descriptor: UnsafeMutablePointer<UnsafePointer<sluice_plugin_descriptor>?>?,
                              _ error: UnsafeMutablePointer<sluice_error>?) -> sluice_status {
    PluginExport.entry(LineSource.self, hostABIVersion: host, descriptor: descriptor, error: error)
}
