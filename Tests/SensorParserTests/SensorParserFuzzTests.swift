import Foundation
import PluginKit
import XCTest
@testable import SensorParser

/// 100,000 random and mutated messages: the parser never crashes, every message yields either
/// a row or a dead letter, and whatever it accepts is valid JSON to an independent parser.
final class SensorParserFuzzTests: XCTestCase {
    func testRandomAndMutatedInputs() throws {
        var rng = SplitMix64(seed: 0x5EED)
        let seeds = [sampleReading,
                     #"{"sensor_id":"s-1","ts":1764100000000,"temperature":-3.25e1,"battery":0,"location":{"site":"x","lat":1},"seq":1,"extra":[1,{"a":null}]}"#,
                     #"{"sensor_id":"é\u00e9","ts":1,"temperature":0,"humidity":null,"battery":255,"status":"ok","location":{"site":""},"seq":18446744073709551615}"#]
        let alphabet = Array(#"{}[]":,.-+eE0123456789 \truefalsn\u"#.utf8) + [0x00, 0x7F, 0x80, 0xC3, 0xA9, 0xED, 0xA0, 0xF4, 0x90, 0xFF]
        let harness = try ParserHarness(["columns": sensorColumns])
        var total = 0, accepted = 0, rejectedTotal = 0
        for round in 0..<100 {
            var messages: [[UInt8]] = []
            for _ in 0..<1000 {
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
                    break  // unchanged: must be accepted
                }
                messages.append(bytes)
            }
            let (batch, rejected) = try harness.run(messages)
            let view = try batch.view()
            XCTAssertEqual(view.length + rejected.count, messages.count, "round \(round): every message is a row or a dead letter")
            let rejectedRows = Set(rejected.map { Int($0.row) })
            for (i, message) in messages.enumerated() where !rejectedRows.contains(i) {
                XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(message)) as? [String: Any],
                                "accepted a message Foundation rejects: \(String(decoding: message, as: UTF8.self))")
            }
            for r in rejected {
                let category = r.reason.prefix { $0 != ":" }
                XCTAssertTrue(["invalid_utf8", "invalid_json", "missing_field", "null_value", "wrong_type", "out_of_range"].contains(String(category)), r.reason)
            }
            total += messages.count
            accepted += view.length
            rejectedTotal += rejected.count
        }
        XCTAssertEqual(total, 100_000)
        XCTAssertGreaterThan(accepted, 20_000, "unchanged seeds are a quarter of the input")
        XCTAssertGreaterThan(rejectedTotal, 30_000)
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
