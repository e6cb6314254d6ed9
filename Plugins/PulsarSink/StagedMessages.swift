import PluginKit
import PulsarClient

/// The Pulsar sink's half of the two-phase commit: each epoch's messages are staged in one
/// file (`sealed-<id>.msgs` once sealed), and a sealed epoch is committed by publishing its
/// messages, waiting for the broker's receipts, and removing the file. A record is u32 payload
/// length, payload, i32 key length (-1: none), key, u32 property count, then per property u32
/// length + name and u32 length + value; little endian.
///
/// Each message carries `sluice-message-id` = pipeline/operator/epoch/index, the same on every
/// attempt, so a repeat after a crash between the receipts and the removal can be dropped by
/// a deduplicating broker or consumer.
///
/// Sink thread only.
final class StagedMessages: FileEpochStore {
    let files: EpochFiles
    /// Set once the sink is connected; committing needs it.
    var producer: PulsarProducer?
    private let messageIDPrefix: String

    init(staging: Staging, messageIDPrefix: String) {
        files = EpochFiles(staging: staging, suffix: ".msgs")
        self.messageIDPrefix = messageIDPrefix
    }

    func append(payload: [UInt8], key: String?, properties: [(String, String)]) throws {
        var record: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { record.append(contentsOf: $0) } }
        u32(UInt32(payload.count)); record += payload
        if let key { u32(UInt32(key.utf8.count)); record += Array(key.utf8) } else { u32(UInt32.max) }
        u32(UInt32(properties.count))
        for (name, value) in properties {
            u32(UInt32(name.utf8.count)); record += Array(name.utf8)
            u32(UInt32(value.utf8.count)); record += Array(value.utf8)
        }
        try files.append(record)
    }

    func commit(_ epoch: UInt64, afterRestore: Bool) throws {
        guard let producer else { throw PluginError("the pulsar sink is not connected") }
        var index = 0
        try forEachMessage(in: epoch) { payload, key, properties in
            var all = properties
            all.append(("sluice-message-id", "\(messageIDPrefix)/\(epoch)/\(index)"))
            try producer.send(OutgoingMessage(bytes: payload, key: key, properties: all))
            index += 1
        }
        try producer.flush().wait()
        try files.remove(epoch)
    }

    func forEachMessage(in epoch: UInt64, _ body: ([UInt8], String?, [(String, String)]) throws -> Void) throws {
        let path = files.describe(epoch)
        let bytes: [UInt8]
        do { bytes = try files.read(epoch) } catch {
            throw PluginError("the staged messages of epoch \(epoch) cannot be read: \(error)")
        }
        var i = 0
        func u32() throws -> UInt32 {
            guard i + 4 <= bytes.count else { throw PluginError("\(path) is truncated") }
            defer { i += 4 }
            return UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
        }
        func take(_ n: Int) throws -> [UInt8] {
            guard n >= 0, i + n <= bytes.count else { throw PluginError("\(path) is truncated") }
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
}
