import Foundation
import PluginKit
import PulsarClient

/// The source's checkpoint state: the last delivered position per topic partition and the
/// number of messages emitted so far. Stored as JSON so it stays readable and can grow.
public struct SourceState: Codable, Equatable {
    public var version = 1
    public var emitted: Int
    public var positions: [String: Position]

    public init(emitted: Int, positions: [String: Position]) {
        self.emitted = emitted
        self.positions = positions
    }

    public func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(self))
    }

    public static func decode(_ bytes: [UInt8]) throws -> SourceState {
        do {
            let state = try JSONDecoder().decode(SourceState.self, from: Data(bytes))
            guard state.version == 1 else { throw PluginError("pulsar-source state version \(state.version) is newer than this plugin (1)") }
            return state
        } catch let error as PluginError {
            throw error
        } catch {
            throw PluginError("pulsar-source state is unreadable (\(bytes.count) bytes): \(error)")
        }
    }
}
