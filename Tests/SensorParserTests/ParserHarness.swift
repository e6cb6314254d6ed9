import Foundation
import PluginKit
import PluginTestSupport
@testable import SensorParser

/// Runs the parser the way the host does: a batch of payloads in, typed columns out, rejected
/// rows collected through the host's `reject` callback.
final class ParserHarness {
    let host = FakeHost(operatorName: "parse")
    let parser: SensorParser

    init(_ yaml: [String: Any], onError: String = "dead-letter") throws {
        var config = yaml
        if config["on_error"] == nil { config["on_error"] = onError }
        let data = try JSONSerialization.data(withJSONObject: config)
        let decoded = try JSONDecoder().decode(SensorParserConfig.self, from: data)
        try SensorParser.validate(decoded)
        parser = try SensorParser(config: decoded, host: host.pluginHost)
    }

    /// Parses `messages`; returns the output batch (kept alive by the caller) and the rejects.
    func run(_ messages: [[UInt8]]) throws -> (batch: ArrowBatch, rejected: [(row: Int64, reason: String)]) {
        host.clearRejected()
        let payload = ArrowColumnBuilder(name: "payload", format: .binary)
        for m in messages { m.withUnsafeBytes { payload.append(bytes: $0) } }
        let output = try parser.process(ArrowBatchBuilder(columns: [payload]).finish())
        return (output, host.rejected)
    }

    func run(_ messages: [String]) throws -> (batch: ArrowBatch, rejected: [(row: Int64, reason: String)]) {
        try run(messages.map { Array($0.utf8) })
    }
}

/// The sensor schema of pipelines/sensors.yaml.
let sensorColumns: [[String: Any]] = [
    ["name": "sensor_id", "type": "string"],
    ["name": "ts", "type": "timestamp", "unit": "ms"],
    ["name": "temperature", "type": "float64"],
    ["name": "humidity", "type": "float64", "nullable": true],
    ["name": "battery", "type": "uint8"],
    ["name": "status", "type": "string", "default": "unknown"],
    ["name": "site", "path": "location.site", "type": "string"],
    ["name": "seq", "type": "uint64"],
]

let sampleReading = #"{"sensor_id":"sensor-0042","ts":1764100000123,"temperature":21.5,"humidity":40.2,"battery":87,"status":"ok","location":{"site":"plant-3","lat":52.52,"lon":13.4},"seq":12345}"#
