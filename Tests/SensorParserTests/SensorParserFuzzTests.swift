import Foundation
import PluginKit
import XCTest
@testable import SensorParser

/// Generated readings whose truth is known by construction, each checked on its own: a valid
/// reading (random values, unicode escapes, keys in any order, optional fields missing or null,
/// unknown fields) must become a row with exactly its values; a reading broken in one known way
/// must be rejected with that way's reason. Then random noise and mutations: the parser never
/// crashes, every message is a row or a dead letter, and whatever it accepts is valid JSON to an
/// independent parser.
final class SensorParserFuzzTests: XCTestCase {
    // MARK: - Known truth

    /// One reading's values; nil for optional fields means "missing or null".
    struct Reading {
        var sensorID: String
        var ts: Int64
        var temperature: Double
        var humidity: Double?
        var battery: UInt8
        var status: String?
        var site: String
        var seq: UInt64
    }

    /// The broken forms, each with the reason category it must be rejected with.
    enum Breakage: CaseIterable {
        case truncated, invalidUTF8, missingRequired, nullRequired, wrongType, outOfRange

        var category: String {
            switch self {
            case .truncated: return "invalid_json"
            case .invalidUTF8: return "invalid_utf8"
            case .missingRequired: return "missing_field"
            case .nullRequired: return "null_value"
            case .wrongType: return "wrong_type"
            case .outOfRange: return "out_of_range"
            }
        }
    }

    func testEveryGeneratedReadingIsAcceptedWithItsValuesOrRejectedForItsReason() throws {
        var rng = SplitMix64(seed: 0xC0FFEE)
        let harness = try ParserHarness(["columns": sensorColumns])
        for round in 0..<20 {
            var messages: [[UInt8]] = []
            var truth: [(reading: Reading, breakage: Breakage?)] = []
            for _ in 0..<1000 {
                let reading = randomReading(&rng)
                let breakage: Breakage? = rng.next() % 3 == 0 ? Breakage.allCases[Int(rng.next() % 6)] : nil
                messages.append(encode(reading, breakage: breakage, rng: &rng))
                truth.append((reading, breakage))
            }
            let (batch, rejected) = try harness.run(messages)
            let view = try batch.view()
            let reasons = Dictionary(rejected.map { (Int($0.row), $0.reason) }, uniquingKeysWith: { a, _ in a })
            var row = 0
            for (i, expected) in truth.enumerated() {
                let text = String(decoding: messages[i], as: UTF8.self)
                if let breakage = expected.breakage {
                    guard let reason = reasons[i] else {
                        XCTFail("round \(round), message \(i): accepted although \(breakage): \(text)")
                        row += 1
                        continue
                    }
                    XCTAssertEqual(String(reason.prefix { $0 != ":" }), breakage.category, "round \(round), message \(i): \(reason)\n\(text)")
                    continue
                }
                if let reason = reasons[i] {
                    XCTFail("round \(round), message \(i): rejected (\(reason)) although valid: \(text)")
                    continue
                }
                let r = expected.reading
                XCTAssertEqual(view.column(named: "sensor_id")!.string(row), r.sensorID, text)
                XCTAssertEqual(view.column(named: "ts")!.int64(row), r.ts, text)
                XCTAssertEqual(view.column(named: "temperature")!.fixed(row, as: Double.self), r.temperature, text)
                let humidity = view.column(named: "humidity")!
                XCTAssertEqual(humidity.isNull(row) ? nil : humidity.fixed(row, as: Double.self), r.humidity, text)
                XCTAssertEqual(view.column(named: "battery")!.int64(row), Int64(r.battery), text)
                XCTAssertEqual(view.column(named: "status")!.string(row), r.status ?? "unknown", text)
                XCTAssertEqual(view.column(named: "site")!.string(row), r.site, text)
                XCTAssertEqual(view.column(named: "seq")!.fixed(row, as: UInt64.self), r.seq, text)
                row += 1
            }
            XCTAssertEqual(row, view.length, "round \(round): the rows are exactly the valid readings, in order")
        }
    }

    private func randomReading(_ rng: inout SplitMix64) -> Reading {
        let names = ["sensor-\(rng.next() % 10_000)", "capteur-été-\(rng.next() % 100)", "датчик-\(rng.next() % 100)", "センサー🚀\(rng.next() % 10)", ""]
        return Reading(
            sensorID: names[Int(rng.next() % UInt64(names.count))],
            ts: Int64(1_700_000_000_000 + rng.next() % 100_000_000_000),
            temperature: (Double(Int64(rng.next() % 200_001) - 100_000) / 1000),
            humidity: rng.next() % 3 == 0 ? nil : Double(rng.next() % 10_001) / 100,
            battery: UInt8(rng.next() % 256),
            status: rng.next() % 3 == 0 ? nil : ["ok", "low \"battery\"", "tab\there"][Int(rng.next() % 3)],
            site: ["plant-\(rng.next() % 9)", "Zürich", ""][Int(rng.next() % 3)],
            seq: rng.next() % 2 == 0 ? rng.next() : rng.next() % 1000)
    }

    /// The reading as JSON: keys shuffled, half the strings written with \u escapes, an
    /// optional field either missing or null, an unknown field sometimes; then broken.
    private func encode(_ r: Reading, breakage: Breakage?, rng: inout SplitMix64) -> [UInt8] {
        func string(_ s: String) -> String {
            let escapeAll = rng.next() % 2 == 0
            var out = "\""
            for scalar in s.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\t": out += "\\t"
                default:
                    if escapeAll || scalar.value < 0x20 {
                        for unit in String(scalar).utf16 { out += String(format: "\\u%04x", unit) }
                    } else {
                        out.unicodeScalars.append(scalar)
                    }
                }
            }
            return out + "\""
        }
        var fields: [(String, String)] = [
            ("sensor_id", string(r.sensorID)), ("ts", String(r.ts)), ("temperature", String(r.temperature)),
            ("battery", String(r.battery)), ("location", "{\"lat\":1.5,\"site\":\(string(r.site))}"), ("seq", String(r.seq)),
        ]
        if let humidity = r.humidity { fields.append(("humidity", String(humidity))) } else if rng.next() % 2 == 0 { fields.append(("humidity", "null")) }
        if let status = r.status { fields.append(("status", string(status))) }
        if rng.next() % 4 == 0 { fields.append(("firmware", "{\"v\":[1,2,{\"x\":null}]}")) }
        var breakAt: String?
        switch breakage {
        case .missingRequired:
            let name = ["sensor_id", "ts", "temperature", "battery", "seq"][Int(rng.next() % 5)]
            fields.removeAll { $0.0 == name }
        case .nullRequired:
            let name = ["sensor_id", "temperature", "battery", "seq"][Int(rng.next() % 4)]
            fields = fields.map { $0.0 == name ? (name, "null") : $0 }
        case .wrongType:
            fields = fields.map { $0.0 == "temperature" ? ("temperature", "\"warm\"") : $0 }
        case .outOfRange:
            fields = fields.map { $0.0 == "battery" ? ("battery", String(256 + rng.next() % 1000)) : $0 }
        case .invalidUTF8:
            breakAt = "sensor_id"
            fields = fields.map { $0.0 == "sensor_id" ? ("sensor_id", "\"bad-INVALID\"") : $0 }
        default:
            break
        }
        for i in stride(from: fields.count - 1, to: 0, by: -1) {
            fields.swapAt(i, Int(rng.next() % UInt64(i + 1)))
        }
        var bytes = Array(("{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}").utf8)
        if breakAt != nil, let range = findBytes(Array("INVALID".utf8), in: bytes) {
            bytes.replaceSubrange(range, with: [0xC3, 0x28, 0xFF])  // an invalid sequence, then a byte never valid
        }
        if breakage == .truncated {
            // Cut before an ASCII byte, so what is left is valid UTF-8 and only the JSON is broken.
            var cut = Int(rng.next() % UInt64(bytes.count - 1))
            while cut > 0 && bytes[cut] >= 0x80 { cut -= 1 }
            bytes = Array(bytes.prefix(cut))
        }
        return bytes
    }

    private func findBytes(_ needle: [UInt8], in haystack: [UInt8]) -> Range<Int>? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where Array(haystack[i..<i + needle.count]) == needle {
            return i..<i + needle.count
        }
        return nil
    }

    // MARK: - Noise and mutations

    func testRandomAndMutatedInputsNeverCrashAndAcceptOnlyJSON() throws {
        var rng = SplitMix64(seed: 0x5EED)
        let seeds = [sampleReading,
                     #"{"sensor_id":"s-1","ts":1764100000000,"temperature":-3.25e1,"battery":0,"location":{"site":"x","lat":1},"seq":1,"extra":[1,{"a":null}]}"#,
                     #"{"sensor_id":"é\u00e9","ts":1,"temperature":0,"humidity":null,"battery":255,"status":"ok","location":{"site":""},"seq":18446744073709551615}"#]
        let alphabet = Array(#"{}[]":,.-+eE0123456789 \truefalsn\u"#.utf8) + [0x00, 0x7F, 0x80, 0xC3, 0xA9, 0xED, 0xA0, 0xF4, 0x90, 0xFF]
        let harness = try ParserHarness(["columns": sensorColumns])
        for round in 0..<50 {
            var messages: [[UInt8]] = []
            var unchanged: Set<Int> = []
            for i in 0..<1000 {
                var bytes = Array(seeds[Int(rng.next() % UInt64(seeds.count))].utf8)
                switch rng.next() % 4 {
                case 0:  // pure noise
                    bytes = (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                case 1:  // flip, insert or delete a few bytes
                    for _ in 0..<(1 + rng.next() % 4) {
                        let at = Int(rng.next() % UInt64(max(1, bytes.count)))
                        switch rng.next() % 3 {
                        case 0: if at < bytes.count { bytes[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))] }
                        case 1: bytes.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: min(at, bytes.count))
                        default: if at < bytes.count { bytes.remove(at: at) }
                        }
                    }
                case 2:  // truncate
                    bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count + 1))))
                default:
                    unchanged.insert(i)
                }
                messages.append(bytes)
            }
            let (batch, rejected) = try harness.run(messages)
            let view = try batch.view()
            XCTAssertEqual(view.length + rejected.count, messages.count, "round \(round): every message is a row or a dead letter")
            let rejectedRows = Set(rejected.map { Int($0.row) })
            XCTAssertTrue(rejectedRows.isDisjoint(with: unchanged), "round \(round): an unchanged seed was rejected")
            for (i, message) in messages.enumerated() where !rejectedRows.contains(i) {
                XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(message)) as? [String: Any],
                                "accepted a message Foundation rejects: \(String(decoding: message, as: UTF8.self))")
            }
            for r in rejected {
                let category = r.reason.prefix { $0 != ":" }
                XCTAssertTrue(["invalid_utf8", "invalid_json", "missing_field", "null_value", "wrong_type", "out_of_range"].contains(String(category)), r.reason)
            }
        }
    }
}

/// A small deterministic generator, so a failure can be replayed.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
