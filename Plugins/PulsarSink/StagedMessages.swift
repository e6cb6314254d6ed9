import Foundation
import PluginKit

/// The messages of each epoch, staged durably until their checkpoint completes: one file per
/// sealed epoch (`sealed-<id>.msgs`) and one for the epoch being written. A record is
/// u32 payload length, payload, i32 key length (-1: none), key, u32 property count, then per
/// property u32 length + name and u32 length + value; little endian.
///
/// Sink thread only.
final class StagedMessages {
    private let directory: String
    private var current: FileHandle?
    /// Sealed epochs not yet published, ascending.
    private(set) var pending: [UInt64] = []

    init(directory: String) throws {
        self.directory = directory
    }

    private var currentPath: String { directory + "/current.msgs" }
    private func sealedPath(_ epoch: UInt64) -> String { directory + "/sealed-\(epoch).msgs" }

    func append(payload: [UInt8], key: String?, properties: [(String, String)]) throws {
        if current == nil {
            FileManager.default.createFile(atPath: currentPath, contents: nil)
            current = try FileHandle(forWritingTo: URL(fileURLWithPath: currentPath))
            try current!.truncate(atOffset: 0)
        }
        var record: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { record.append(contentsOf: $0) } }
        u32(UInt32(payload.count)); record += payload
        if let key { u32(UInt32(key.utf8.count)); record += Array(key.utf8) } else { u32(UInt32.max) }
        u32(UInt32(properties.count))
        for (name, value) in properties {
            u32(UInt32(name.utf8.count)); record += Array(name.utf8)
            u32(UInt32(value.utf8.count)); record += Array(value.utf8)
        }
        try current!.write(contentsOf: record)
    }

    /// Makes the current epoch durable under `epoch` (an empty epoch stages nothing).
    func seal(epoch: UInt64) throws {
        guard let handle = current else { return }
        try handle.synchronize()
        try handle.close()
        current = nil
        do { try DurableFile.renameDurably(currentPath, to: sealedPath(epoch)) } catch {
            throw PluginError("cannot seal \(currentPath): \(error)")
        }
        pending.append(epoch)
    }

    func pendingState() -> [UInt8] {
        pending.flatMap { epoch in withUnsafeBytes(of: epoch.littleEndian) { Array($0) } }
    }

    /// Takes the restored list of sealed epochs and drops files of epochs it does not list
    /// (their checkpoint never completed; the source replays their rows).
    func restore(_ state: [UInt8], checkpoint: UInt64) throws {
        guard state.count % 8 == 0 else { throw PluginError("pulsar-sink state has \(state.count) bytes, not a multiple of 8") }
        pending = stride(from: 0, to: state.count, by: 8).map { i in
            state[i..<i + 8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        }
        try? FileManager.default.removeItem(atPath: currentPath)
        for file in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where file.hasPrefix("sealed-") {
            let epoch = UInt64(file.dropFirst(7).dropLast(5)) ?? 0
            if !pending.contains(epoch) { try? FileManager.default.removeItem(atPath: directory + "/" + file) }
        }
        // An epoch listed but without a file was published and forgotten before the crash.
        pending = pending.filter { FileManager.default.fileExists(atPath: sealedPath($0)) }
    }

    func forEachMessage(in epoch: UInt64, _ body: ([UInt8], String?, [(String, String)]) throws -> Void) throws {
        guard let data = FileManager.default.contents(atPath: sealedPath(epoch)) else {
            throw PluginError("the staged messages of epoch \(epoch) (\(sealedPath(epoch))) cannot be read")
        }
        let bytes = [UInt8](data)
        var i = 0
        func u32() throws -> UInt32 {
            guard i + 4 <= bytes.count else { throw PluginError("\(sealedPath(epoch)) is truncated") }
            defer { i += 4 }
            return UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
        }
        func take(_ n: Int) throws -> [UInt8] {
            guard n >= 0, i + n <= bytes.count else { throw PluginError("\(sealedPath(epoch)) is truncated") }
            defer { i += n }
            return Array(bytes[i..<i + n])
        }
        while i < bytes.count {
            let payload = try take(Int(try u32()))
            let keyLength = try u32()
            let key = keyLength == UInt32.max ? nil : String(decoding: try take(Int(keyLength)), as: UTF8.self)
            var properties: [(String, String)] = []
            for _ in 0..<(try u32()) {
                let name = String(decoding: try take(Int(try u32())), as: UTF8.self)
                properties.append((name, String(decoding: try take(Int(try u32())), as: UTF8.self)))
            }
            try body(payload, key, properties)
        }
    }

    /// The epoch is published: its file goes.
    func forget(_ epoch: UInt64) throws {
        try? FileManager.default.removeItem(atPath: sealedPath(epoch))
        pending.removeAll { $0 == epoch }
    }
}
