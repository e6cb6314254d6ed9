import DurableFiles
import Foundation
import XCTest

/// The plugin ABI from other languages, built from nothing but the C header: the Rust sink
/// (Examples/rust-clickhouse-sink, std only, built with cargo) and the C++ transform
/// (Examples/cpp-fahrenheit, built with g++) run pulsar-source -> sensor-parser -> fahrenheit
/// -> clickhouse-rs-sink with the worker SIGKILLed mid-stream, and every reading lands in
/// ClickHouse once with its Fahrenheit temperature; the C++ transform does the same in front
/// of the shipped ClickHouse sink.
final class OtherLanguagePluginsTests: XCTestCase {
    nonisolated(unsafe) static var server: ClickHouseServer?
    /// The two plugins, built once for the class into a temporary folder.
    nonisolated(unsafe) static var plugins: (rustSink: String, fahrenheit: String)?
    nonisolated(unsafe) static var buildFailure: String?
    nonisolated(unsafe) static var buildDirectory: String?

    var server: ClickHouseServer { Self.server! }
    private var dir = ""

    override class func tearDown() {
        server?.destroy()
        server = nil
        if let buildDirectory { try? FileManager.default.removeItem(atPath: buildDirectory) }
        super.tearDown()
    }

    override func setUpWithError() throws {
        try Self.buildPlugins()
        if Self.server == nil { Self.server = try ClickHouseServer() }
        dir = makeTemporaryDirectory("other-languages")
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    // MARK: - Building the plugins

    /// `name` on PATH, else the first of `fallbacks` that exists.
    static func executable(_ name: String, fallbacks: [String]) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let candidates = path.split(separator: ":").map { "\($0)/\(name)" } + fallbacks
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static func buildPlugins() throws {
        if plugins != nil { return }
        if let buildFailure { throw TestFailure(buildFailure) }
        do {
            let output = makeTemporaryDirectory("other-language-plugins")
            buildDirectory = output
            let rustSink = try buildRustSink(into: output)
            let fahrenheit = try buildFahrenheit(into: output)
            plugins = (rustSink, fahrenheit)
        } catch {
            buildFailure = "\(error)"
            throw error
        }
    }

    /// cargo builds a copy of the crate, so that nothing (Cargo.lock, target/) is written into
    /// the repository.
    static func buildRustSink(into output: String) throws -> String {
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        guard let cargo = executable("cargo", fallbacks: [home + "/.cargo/bin/cargo"]) else {
            throw TestFailure("cargo is not on PATH nor in ~/.cargo/bin: install Rust (rustup) to build Examples/rust-clickhouse-sink")
        }
        let source = Built.packageRoot + "/Examples/rust-clickhouse-sink"
        let crate = output + "/rust-clickhouse-sink"
        try FileManager.default.createDirectory(atPath: crate, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: source + "/Cargo.toml", toPath: crate + "/Cargo.toml")
        try FileManager.default.copyItem(atPath: source + "/src", toPath: crate + "/src")
        // cargo finds rustc beside itself (rustup's proxies) when that folder is on PATH.
        let cargoFolder = (cargo as NSString).deletingLastPathComponent
        let path = cargoFolder + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let result = try runProcess(cargo, ["build", "--offline", "--release", "--manifest-path", crate + "/Cargo.toml",
                                            "--target-dir", output + "/target"],
                                    environment: ["PATH": path], timeout: 900)
        guard result.status == 0 else { throw TestFailure("cargo build of \(source) failed:\n\(result.output.suffix(6000))") }
        let library = output + "/target/release/libsluice_clickhouse_rs_sink.so"
        guard FileManager.default.fileExists(atPath: library) else { throw TestFailure("cargo built no \(library):\n\(result.output.suffix(3000))") }
        return library
    }

    static func buildFahrenheit(into output: String) throws -> String {
        guard let compiler = executable("g++", fallbacks: ["/usr/bin/g++"]) else {
            throw TestFailure("g++ is not installed: install it (Debian: apt-get install g++) to build Examples/cpp-fahrenheit")
        }
        let library = output + "/libfahrenheit.so"
        let result = try runProcess(compiler, ["-std=c++17", "-O2", "-shared", "-fPIC", "-Wall", "-Wextra", "-I", Built.abiInclude,
                                               "-o", library, Built.packageRoot + "/Examples/cpp-fahrenheit/fahrenheit.cpp"], timeout: 300)
        guard result.status == 0 else { throw TestFailure("g++ failed for Examples/cpp-fahrenheit/fahrenheit.cpp:\n\(result.output.suffix(6000))") }
        return library
    }

    // MARK: - The pipeline

    /// The readings' table: the parser's columns and the transform's, Nullable as the columns
    /// are declared. With `deduplicating`, a MergeTree that drops an insert whose token it saw,
    /// on servers that have the setting (Debian's 18.16 does not).
    func createReadingsTable(_ table: String, deduplicating: Bool) throws {
        var sql = """
        CREATE TABLE \(table) (
          sensor_id String, ts DateTime, temperature Float64, humidity Nullable(Float64),
          battery UInt8, status String, site String, seq UInt64, temperature_f Nullable(Float64)
        ) ENGINE = MergeTree ORDER BY (sensor_id, seq)
        """
        if deduplicating, try server.scalar("SELECT count() FROM system.merge_tree_settings WHERE name = 'non_replicated_deduplication_window'") == "1" {
            sql += " SETTINGS non_replicated_deduplication_window = 1000"
        }
        try server.query(sql)
    }

    /// Whether this server deduplicates by insert_deduplication_token (22.2 and later).
    func serverHasDeduplicationToken() throws -> Bool {
        try server.scalar("SELECT count() FROM system.settings WHERE name = 'insert_deduplication_token'") == "1"
    }

    /// pulsar-source -> sensor-parser (configured as in pipelines/sensors.yaml) -> fahrenheit
    /// -> `sink`; returns the pipeline file's path.
    func writePipeline(broker: PulsarBroker, topic: String, sink: String, table: String) throws -> String {
        let yaml = """
        name: other-languages
        source:
          plugin: pulsar-source
          config:
            service_url: \(broker.url)
            topic: \(topic)
            subscription: other-languages
            subscription_type: exclusive
            initial_position: earliest
            receiver_queue_size: 2000
            columns: [payload, publish_time, topic, message_id]
        transforms:
          - plugin: sensor-parser
            name: parse
            config:
              payload_column: payload
              on_error: dead-letter
              columns:
                - { name: sensor_id, type: string }
                - { name: ts, type: timestamp, unit: ms }
                - { name: temperature, type: float64 }
                - { name: humidity, type: float64, nullable: true }
                - { name: battery, type: uint8 }
                - { name: status, type: string, default: unknown }
                - { name: site, path: location.site, type: string }
                - { name: seq, type: uint64 }
          - plugin: \(Self.plugins!.fahrenheit)
            name: fahrenheit
            config: { column: temperature, output: temperature_f }
        sink:
          plugin: \(sink)
          name: clickhouse
          config: { url: "\(server.url)", table: \(table) }
        checkpointing:
          interval: 250ms
          directory: \(dir)/checkpoints
          retained: 3
          mode: exactly-once
        restart: { initial_delay: 50ms, max_delay: 200ms, multiplier: 2 }
        """
        let path = dir + "/pipeline.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// When to kill a worker, once it has restored and completed a checkpoint of its own:
    /// - `random`: at a random moment;
    /// - `afterCheckpoint`: right after one of its checkpoints completed (its sink inserts then);
    /// - `duringCommit`: with ClickHouse frozen (SIGSTOP) while the sink has an INSERT open, so
    ///   the kill lands inside a commit; the server, resumed, usually still runs the request it
    ///   holds, and the next worker must find that epoch in ClickHouse rather than insert it twice;
    /// - `whileClickHouseIsDown`: with ClickHouse stopped while the sink retries a commit, so the
    ///   epoch surely did not land: the next worker must insert it.
    enum KillMoment { case random, afterCheckpoint, duringCommit, whileClickHouseIsDown }

    /// Whether process `pid` has a TCP connection to port `port`, established or being made.
    static func hasConnection(_ pid: Int32, toPort port: Int) -> Bool {
        let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        let sockets = Set(descriptors.compactMap { fd -> Substring? in
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"),
                  target.hasPrefix("socket:[") else { return nil }
            return target.dropFirst("socket:[".count).dropLast()
        })
        for table in ["tcp", "tcp6"] {
            let text = DurableFile.text("/proc/\(pid)/net/\(table)") ?? ""
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                // 01 ESTABLISHED, 02 SYN_SENT (a stopped server whose accept queue is full
                // answers no handshake, but the worker is inside its INSERT all the same).
                guard fields.count > 9, fields[3] == "01" || fields[3] == "02", let remotePort = fields[2].split(separator: ":").last.flatMap({ Int($0, radix: 16) }) else { continue }
                if remotePort == port && sockets.contains(fields[9]) { return true }
            }
        }
        return false
    }

    /// Produces `n` sample readings while the pipeline runs into `table`, SIGKILLs the worker at
    /// each of `kills` (each time a worker the supervisor started after the previous kill), then
    /// waits for every reading, stops the pipeline and checks the table: every seq 1...n once,
    /// and temperature_f = temperature * 9 / 5 + 32 in every row. Returns the supervisor's log.
    @discardableResult
    func runAndCheck(sink: String, table: String, n: Int, rate: Int, kills: [KillMoment]) throws -> String {
        let broker = try PulsarBroker()
        let topic = "persistent://public/default/readings-\(UUID().uuidString.prefix(8))"
        let path = try writePipeline(broker: broker, topic: topic, sink: sink, table: table)
        let producer = try StartedProcess(Built.sluice, ["produce", "--template", "sensors", "--url", broker.url, "--topic", topic,
                                                         "--count", String(n), "--rate", String(rate)])
        defer { if producer.process.isRunning { kill(producer.pid, SIGKILL) } }
        let supervisor = try StartedProcess(Built.sluice, ["run", path], expectingRestarts: true)
        defer { if supervisor.process.isRunning { kill(supervisor.pid, SIGKILL) } }

        func rows() throws -> Int { Int(try server.scalar("SELECT count() FROM \(table)")) ?? 0 }
        func completions() -> Int { supervisor.stderrText.components(separatedBy: " complete in ").count - 1 }
        var killed = Set<Int32>()
        var completionsAtLastKill = 0
        var rng = SystemRandomNumberGenerator()
        for (index, moment) in kills.enumerated() {
            var found: Int32?
            try waitUntil(timeout: 60, "worker \(index + 1) to start") {
                found = supervisor.children().first { !killed.contains($0) }
                return found != nil
            }
            let worker = found!
            try waitUntil(timeout: 60, "a checkpoint of worker \(index + 1)") { completions() > completionsAtLastKill }
            try waitUntil(timeout: 60, "rows in ClickHouse before kill \(index + 1)") { try rows() > 0 }
            XCTAssertLessThan(try rows(), n, "every reading was in before kill \(index + 1), so it was not mid-stream: raise n or lower the rate")
            switch moment {
            case .random:
                usleep(UInt32.random(in: 0...400_000, using: &rng))
                kill(worker, SIGKILL)
            case .afterCheckpoint:
                // Polled much faster than waitUntil does: the commit takes milliseconds.
                let seen = completions(), deadline = Date().addingTimeInterval(30)
                while completions() == seen && Date() < deadline { usleep(2_000) }
                XCTAssertGreaterThan(completions(), seen, "no checkpoint of worker \(index + 1) completed within 30 s")
                kill(worker, SIGKILL)
            case .duringCommit:
                let pidText = try String(contentsOfFile: server.directory + "/pid", encoding: .utf8)
                guard let clickhouse = Int32(pidText.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                    throw TestFailure("no ClickHouse pid in \(server.directory)/pid")
                }
                kill(clickhouse, SIGSTOP)
                defer { kill(clickhouse, SIGCONT) }
                do {
                    try waitUntil(timeout: 30, "worker \(index + 1) to start an INSERT into the stopped ClickHouse") {
                        Self.hasConnection(worker, toPort: server.httpPort)
                    }
                } catch {
                    let sockets = DurableFile.text("/proc/\(worker)/net/tcp") ?? ""
                    throw TestFailure("\(error)\nTCP sockets:\n\(sockets.suffix(3000))\n\(supervisor.stderrText.suffix(6000))")
                }
                kill(worker, SIGKILL)
            case .whileClickHouseIsDown:
                let retries = supervisor.stderrText.components(separatedBy: "retrying commit of epoch").count
                server.stop()
                var started = false
                defer { if !started { try? server.start() } }
                try waitUntil(timeout: 30, "worker \(index + 1) to retry a commit while ClickHouse is down") {
                    supervisor.stderrText.components(separatedBy: "retrying commit of epoch").count > retries
                }
                kill(worker, SIGKILL)
                try server.start()
                started = true
            }
            killed.insert(worker)
            completionsAtLastKill = completions()
        }
        XCTAssertEqual(try producer.wait(timeout: 120).status, 0, String(producer.stderrText.suffix(3000)))
        try waitUntil(timeout: 180, "all \(n) readings in \(table)") { try rows() >= n }
        // A graceful stop commits what is left; nothing can arrive after it.
        kill(supervisor.pid, SIGTERM)
        let result = try supervisor.wait(timeout: 60)
        XCTAssertEqual(result.status, 0, String(result.stderr.suffix(6000)))
        XCTAssertEqual(result.stderr.components(separatedBy: "signal 9 (SIGKILL)").count - 1, kills.count, String(result.stderr.suffix(6000)))
        XCTAssertEqual(result.stderr.components(separatedBy: "worker exited").count - 1, kills.count, "no restart but the kills")

        XCTAssertEqual(try server.scalar("SELECT count(), uniqExact(seq), min(seq), max(seq) FROM \(table)"), "\(n)\t\(n)\t1\t\(n)",
                       "count, distinct seq, min, max")
        XCTAssertEqual(try server.scalar("SELECT countIf(isNull(temperature_f)), countIf(temperature_f != temperature * 9 / 5 + 32) FROM \(table)"),
                       "0\t0", "rows without temperature_f, rows with a wrong one")
        // The sample readings have a missing or null humidity now and then: nulls cross both plugins.
        XCTAssertGreaterThan(Int(try server.scalar("SELECT countIf(isNull(humidity)) FROM \(table)")) ?? 0, 0)
        XCTAssertEqual(try server.scalar("SELECT countIf(sensor_id = '' OR site = '' OR toUnixTimestamp(ts) = 0) FROM \(table)"), "0",
                       "every row has its sensor, site and time")
        return result.stderr
    }

    // MARK: - Tests

    /// Both pass the conformance checker: the C++ transform fed the parser's columns, the Rust
    /// sink writing the checker's rows into a ClickHouse table of the same columns.
    func testBothPassThePluginChecker() throws {
        let plugins = Self.plugins!
        let transform = try runProcess(Built.sluice, ["plugins", "check", plugins.fahrenheit, "--input",
                                                      "sensor_id:string,temperature:float64,humidity:float64?"], timeout: 300)
        XCTAssertEqual(transform.status, 0, transform.output)
        XCTAssertTrue(transform.stdout.contains("PASS: "), transform.stdout)

        try server.query("CREATE TABLE checked (sensor_id String, temperature Float64, humidity Nullable(Float64)) ENGINE = MergeTree ORDER BY sensor_id")
        let config = dir + "/sink.yaml"
        try "url: \(server.url)\ntable: checked\n".write(toFile: config, atomically: true, encoding: .utf8)
        let sink = try runProcess(Built.sluice, ["plugins", "check", plugins.rustSink, "--config", config, "--input",
                                                 "sensor_id:string,temperature:float64,humidity:float64?"], timeout: 300)
        XCTAssertEqual(sink.status, 0, sink.output)
        XCTAssertTrue(sink.stdout.contains("PASS: "), sink.stdout)
        XCTAssertGreaterThan(Int(try server.scalar("SELECT count() FROM checked")) ?? 0, 1000, "the checker's batches were committed")
    }

    func testRustSinkBehindCppTransformLandsEveryReadingOnceThroughFourWorkerKills() throws {
        let table = "readings_rs"
        try createReadingsTable(table, deduplicating: true)
        // 48 s of readings: enough that the last kills still come while readings flow on a busy machine.
        let log = try runAndCheck(sink: Self.plugins!.rustSink, table: table, n: 12_000, rate: 250,
                                  kills: [.random, .duringCommit, .whileClickHouseIsDown, .afterCheckpoint])
        let tokenPath = try serverHasDeduplicationToken()
        let path = tokenPath ? "idempotent by insert_deduplication_token" : "idempotent by query_id"
        XCTAssertTrue(log.contains("exactly-once into default.\(table) on ClickHouse") && log.contains(path),
                      "the sink says how its commits are idempotent (\(path)):\n\(log.prefix(4000))")
        // The workers killed during a commit left their epochs staged; the next ones settled them.
        func count(_ text: String) -> Int { log.components(separatedBy: text).count - 1 }
        if tokenPath {
            XCTAssertGreaterThanOrEqual(count("inserting it again with its deduplication token"), 2, String(log.suffix(6000)))
        } else {
            XCTAssertGreaterThanOrEqual(count("is not in ClickHouse (no finished query"), 1, "the epoch of the worker killed while ClickHouse was down:\n\(log.suffix(6000))")
            XCTAssertGreaterThanOrEqual(count("is not in ClickHouse (no finished query") + count("is in ClickHouse already (query"), 2, String(log.suffix(6000)))
        }
    }

    func testCppTransformInFrontOfTheShippedClickHouseSinkThroughAWorkerKill() throws {
        let table = "readings_shipped_sink"
        try createReadingsTable(table, deduplicating: false)
        try runAndCheck(sink: "clickhouse-sink", table: table, n: 3_000, rate: 250, kills: [.random])
    }
}
