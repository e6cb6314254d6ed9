/// Sample sensor readings for `sluice produce --template sensors`, deterministic per sequence
/// number: the same `seq` (and seed) always gives the same bytes, so a test can regenerate
/// what was produced.
///
///     {"sensor_id":"sensor-0042","ts":1764100000123,"temperature":21.5,"humidity":40.2,
///      "battery":87,"status":"ok","location":{"site":"plant-3","lat":52.52,"lon":13.4},"seq":12345}
///
/// `humidity` is sometimes missing or null. With `malformedPercent` > 0, about that share of
/// messages is malformed in one of five ways (`Malformation`). Pure; any thread.
public struct SensorSamples: Sendable {
    public enum Malformation: String, CaseIterable, Sendable {
        case notJSON = "not_json"
        case missingField = "missing_field"
        case wrongType = "wrong_type"
        case batteryOutOfRange = "battery_out_of_range"
        case invalidUTF8 = "invalid_utf8"
    }

    public var malformedPercent: Double
    public var seed: UInt64
    /// `ts` of seq 0, epoch milliseconds; each later seq adds 10 ms.
    public var baseTimestamp: Int64

    public init(malformedPercent: Double = 0, seed: UInt64 = 1, baseTimestamp: Int64 = 1_764_100_000_000) {
        self.malformedPercent = malformedPercent
        self.seed = seed
        self.baseTimestamp = baseTimestamp
    }

    public struct Sample: Sendable {
        public var payload: [UInt8]
        public var sensorID: String
        public var timestamp: Int64
        /// Why the sample is malformed, nil for a valid one.
        public var malformation: Malformation?
    }

    /// The reading of `seq`; `timestamp` replaces its `ts` (epoch milliseconds).
    public func sample(seq: Int, timestamp: Int64? = nil) -> Sample {
        var rng = SplitMix64(seed: seed &* 0x9E3779B97F4A7C15 &+ UInt64(bitPattern: Int64(seq)))
        let sensor = Int(rng.next() % 1000)
        let sensorID = "sensor-" + pad(sensor, 4)
        let ts = timestamp ?? baseTimestamp + Int64(seq) * 10
        let temperature = Double(Int(rng.next() % 600) - 150) / 10  // -15.0 ... 44.9
        let humidityRoll = rng.next() % 100
        let humidity = Double(rng.next() % 1000) / 10
        let battery = Int(rng.next() % 101)
        let statusRoll = rng.next() % 100
        let status = statusRoll < 85 ? "ok" : statusRoll < 95 ? "low_battery" : "error"
        let site = Int(sensor % 7) + 1
        let lat = 52.0 + Double(sensor % 100) / 100
        let lon = 13.0 + Double(sensor % 50) / 100
        var malformation: Malformation?
        if malformedPercent > 0, Double(rng.next() % 1_000_000) / 10_000 < malformedPercent {
            malformation = Malformation.allCases[Int(rng.next() % UInt64(Malformation.allCases.count))]
        }

        var fields: [(String, String)] = []
        fields.append(("sensor_id", "\"\(sensorID)\""))
        fields.append(("ts", String(ts)))
        fields.append(("temperature", malformation == .wrongType ? "\"warm\"" : format(temperature)))
        if humidityRoll < 85 { fields.append(("humidity", format(humidity))) } else if humidityRoll < 93 { fields.append(("humidity", "null")) }
        fields.append(("battery", malformation == .batteryOutOfRange ? "300" : String(battery)))
        fields.append(("status", "\"\(status)\""))
        fields.append(("location", "{\"site\":\"plant-\(site)\",\"lat\":\(format(lat))" + ",\"lon\":\(format(lon))}"))
        fields.append(("seq", String(seq)))
        if malformation == .missingField {
            let required = ["sensor_id", "ts", "temperature", "battery"]
            let drop = required[Int(rng.next() % UInt64(required.count))]
            fields.removeAll { $0.0 == drop }
        }
        var text = "{" + fields.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
        if malformation == .notJSON {
            text = rng.next() % 2 == 0 ? String(text.dropLast(text.count / 3)) : "sensor \(sensorID) seq=\(seq) temperature=\(format(temperature))"
        }
        var bytes = Array(text.utf8)
        if malformation == .invalidUTF8 {
            // An invalid byte sequence inside the sensor id string.
            if let i = bytes.firstIndex(of: UInt8(ascii: "-")) { bytes.insert(contentsOf: [0xC3, 0x28, 0xFF], at: i) }
        }
        return Sample(payload: bytes, sensorID: sensorID, timestamp: ts, malformation: malformation)
    }

    private func pad(_ n: Int, _ width: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    /// One decimal place, like the example.
    private func format(_ v: Double) -> String {
        let tenths = Int((v * 10).rounded())
        let sign = tenths < 0 ? "-" : ""
        let a = abs(tenths)
        if a % 10 == 0 { return "\(sign)\(a / 10).0" }
        return "\(sign)\(a / 10).\(a % 10)"
    }
}

/// A small, fast, seedable generator (SplitMix64).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}
