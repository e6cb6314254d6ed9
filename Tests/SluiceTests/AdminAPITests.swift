import DurableFiles
import Foundation
import XCTest
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The admin API on a running pipeline: authentication, status, metrics, checkpoints,
/// savepoints, and sink swaps (including one that fails and is rolled back).
final class AdminAPITests: XCTestCase {
    private var dir = ""
    private var port = 0
    private let token = "test-token-\(UUID().uuidString)"

    override func setUp() {
        dir = makeTemporaryDirectory("admin")
        port = freePort()
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: dir) }

    private func pipeline(count: Int, rate: Int, interval: String) throws -> String {
        let path = dir + "/pipeline.yaml"
        try """
        name: admin
        source: { plugin: \(Built.sequenceSource), config: { count: \(count), batch_size: 100, rate: \(rate) } }
        transforms: [ { plugin: pass-through } ]
        sink: { plugin: file-sink, config: { directory: \(dir)/a } }
        checkpointing: { interval: \(interval), directory: \(dir)/checkpoints }
        admin: { address: "127.0.0.1:\(port)", token_file: \(dir)/token }
        """.write(toFile: path, atomically: true, encoding: .utf8)
        try token.write(toFile: dir + "/token", atomically: true, encoding: .utf8)
        return path
    }

    func testAuthenticationStatusMetricsAndCheckpoints() throws {
        let supervisor = try StartedProcess(Built.sluice, ["run", try pipeline(count: 0, rate: 20_000, interval: "off")])
        defer { kill(supervisor.pid, SIGTERM); _ = try? supervisor.wait(timeout: 30) }
        let api = AdminHTTP(base: "http://127.0.0.1:\(port)", token: token)
        try api.waitUntilUp()

        XCTAssertEqual(try AdminHTTP(base: api.base).request("GET", "/healthz").status, 200, "health needs no token")
        XCTAssertEqual(try AdminHTTP(base: api.base).request("GET", "/status").status, 401, "no token")
        XCTAssertEqual(try AdminHTTP(base: api.base, token: "wrong").request("GET", "/status").status, 401, "wrong token")
        XCTAssertEqual(try AdminHTTP(base: api.base, token: "wrong").request("POST", "/checkpoints").status, 401)

        let status = try api.json("GET", "/status")
        XCTAssertEqual(status["pipeline"] as? String, "admin")
        XCTAssertEqual((status["operators"] as? [[String: Any]])?.map { $0["name"] as? String }, ["source", "transform-1", "sink"])
        XCTAssertTrue(status["lag"] is NSNull, "a source that does not report its lag leaves it null: \(status)")

        let checkpoint = try api.json("POST", "/checkpoints")
        XCTAssertNotNil(checkpoint["id"] as? Int)
        let listed = try api.json("GET", "/checkpoints")["checkpoints"] as? [[String: Any]] ?? []
        XCTAssertTrue(listed.contains { $0["id"] as? Int == checkpoint["id"] as? Int }, "\(listed)")

        // The committed-rows counter matches what the sink committed.
        var committedMetric = -1, committedOnDisk = -2
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let metrics = try api.request("GET", "/metrics").body
            try assertPrometheusText(metrics)
            committedMetric = Int(value(of: "sluice_sink_rows_committed_total", in: metrics) ?? -1)
            committedOnDisk = try committedValues(in: dir + "/a").count
            if committedMetric == committedOnDisk && committedMetric > 0 { break }
            usleep(100_000)
        }
        XCTAssertEqual(committedMetric, committedOnDisk)

        // A savepoint by name; the same name twice is refused.
        let savepoint = try api.json("POST", "/savepoints", json: ["name": "before-upgrade"])
        XCTAssertTrue((savepoint["path"] as? String)?.hasSuffix("/savepoints/before-upgrade.ckpt") == true, "\(savepoint)")
        XCTAssertEqual(try api.request("POST", "/savepoints", json: ["name": "before-upgrade"]).status, 409)

        // The CLI over the API.
        let cli = try runProcess(Built.sluice, ["status", "--admin", "127.0.0.1:\(port)", "--token-file", dir + "/token"])
        XCTAssertEqual(cli.status, 0, cli.output)
        XCTAssertTrue(cli.stdout.contains("pipeline admin: running"), cli.stdout)
        XCTAssertTrue(cli.stdout.contains("lag unknown (the source does not report it)"), cli.stdout)
        let wrong = try runProcess(Built.sluice, ["status", "--admin", "127.0.0.1:\(port)"], environment: ["SLUICE_ADMIN_TOKEN": "nope"])
        XCTAssertEqual(wrong.status, 1)
        XCTAssertTrue(wrong.stderr.contains("refused the token"), wrong.stderr)
        let saved = try runProcess(Built.sluice, ["savepoint", "from-cli", "--pipeline", dir + "/pipeline.yaml"])
        XCTAssertEqual(saved.status, 0, saved.output)
        XCTAssertTrue(saved.stdout.contains("savepoint 'from-cli' is checkpoint"), saved.stdout)
    }

    func testCLISaysWhenThePipelineIsNotRunning() throws {
        let result = try runProcess(Built.sluice, ["status", "--admin", "127.0.0.1:\(port)"], environment: ["SLUICE_ADMIN_TOKEN": "x"])
        XCTAssertEqual(result.status, 1)
        XCTAssertTrue(result.stderr.contains("cannot reach the pipeline's admin API at http://127.0.0.1:\(port)"), result.stderr)
    }

    /// The admin client speaks HTTP through AsyncHTTPClient, which the binary has for S3 anyway:
    /// no sluice process (the supervisor above all) loads libcurl and the libraries behind it.
    func testTheBinaryDoesNotLoadLibcurl() throws {
        let ldd = try runProcess("/usr/bin/ldd", [Built.sluice])
        XCTAssertEqual(ldd.status, 0, ldd.output)
        XCTAssertTrue(ldd.stdout.contains("libswiftCore.so"), ldd.stdout)
        for library in ["libcurl", "libFoundationNetworking", "libgnutls"] {
            XCTAssertFalse(ldd.stdout.contains(library), "\(library) is linked:\n\(ldd.stdout)")
        }
    }

    /// Once `sluice run` has checked the pipeline it becomes `sluice-supervisor` (same pid),
    /// which links no Foundation: nothing of Foundation or ICU is mapped in the process that
    /// lives beside the worker, and its peak resident memory stays within the 16 MB budget
    /// (about 9 MB, most of it the Swift runtime's code pages shared with the worker).
    ///
    /// Reading a pipeline file uses no regular expression, so the worker does not page in ICU's
    /// code and data either: 2.6 MB of resident memory when YAML tags were resolved by Yams'
    /// regular expressions. The library is mapped (Foundation links it), and the pages the
    /// dynamic linker's relocations touch are resident: about 1.1 MB.
    func testTheSupervisorMapsNoFoundationAndTheWorkerPagesInNoICU() throws {
        let supervisor = try StartedProcess(Built.sluice, ["run", try pipeline(count: 0, rate: 1_000, interval: "1s")])
        defer { kill(supervisor.pid, SIGTERM); _ = try? supervisor.wait(timeout: 30) }
        try AdminHTTP(base: "http://127.0.0.1:\(port)", token: token).waitUntilUp()
        let worker = try XCTUnwrap(supervisor.children().first)

        let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(supervisor.pid)/exe")
        XCTAssertEqual((executable as NSString).lastPathComponent, "sluice-supervisor")
        let supervisorMaps = try XCTUnwrap(DurableFile.text("/proc/\(supervisor.pid)/maps"))
        XCTAssertTrue(supervisorMaps.contains("libswiftCore.so"), "the test reads the wrong process:\n\(supervisorMaps)")
        for library in ["Foundation", "ICU"] {
            XCTAssertFalse(supervisorMaps.contains(library), "the supervisor maps \(library):\n\(supervisorMaps)")
        }
        let status = try XCTUnwrap(DurableFile.text("/proc/\(supervisor.pid)/status"))
        let peak = try XCTUnwrap(status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }.flatMap { Int($0.split(separator: " ")[1]) })
        XCTAssertLessThanOrEqual(peak, 16 * 1024, "the supervisor's peak RSS is \(peak) KB")

        let smaps = try XCTUnwrap(DurableFile.text("/proc/\(worker)/smaps"))
        var icuKilobytes = 0, inICU = false, mapped = false
        for line in smaps.split(separator: "\n") {
            if let first = line.first, first.isHexDigit, line.contains("-") {
                inICU = line.hasSuffix("lib_FoundationICU.so")
                mapped = mapped || inICU
            } else if inICU, line.hasPrefix("Rss:") {
                icuKilobytes += Int(line.split(separator: " ")[1]) ?? 0
            }
        }
        XCTAssertTrue(mapped, "worker: the test looks for the wrong library name")
        XCTAssertLessThan(icuKilobytes, 1536, "the worker has \(icuKilobytes) KB of ICU resident")
    }

    func testSwapsLoseAndRepeatNothingAndAFailedSwapRollsBack() throws {
        let n = 80_000
        let supervisor = try StartedProcess(Built.sluice, ["run", try pipeline(count: n, rate: 16_000, interval: "500ms")])
        let api = AdminHTTP(base: "http://127.0.0.1:\(port)", token: token)
        try api.waitUntilUp()
        // A copy of the file sink at a path of our own, replaced between two swaps.
        let copied = dir + "/libcopied-sink.so"
        try FileManager.default.copyItem(atPath: Built.productsDirectory + "/libSluiceFileSink.so", toPath: copied)
        var pid = supervisor.children().first
        let steps: [(plugin: String, yaml: String)] = [
            ("file-sink", "directory: \(dir)/b"),
            ("file-sink", "plugin: file-sink\nconfig:\n  directory: \(dir)/c"),
            (copied, "directory: \(dir)/d"),
            (copied, "directory: \(dir)/a"),
        ]
        for (i, step) in steps.enumerated() {
            if i == 3 {  // a rebuilt .so at the same path: the swap loads a fresh copy
                try FileManager.default.removeItem(atPath: copied)
                try FileManager.default.copyItem(atPath: Built.productsDirectory + "/libSluiceFileSink.so", toPath: copied)
            }
            let answer = try api.json("POST", "/sink", json: ["plugin": step.plugin, "config_yaml": step.yaml, "file": "step\(i).yaml"])
            XCTAssertNotNil(answer["checkpoint"], "\(answer)")
            usleep(300_000)
        }
        let failed = try api.request("POST", "/sink", json: ["plugin": "file-sink", "config_yaml": "directory: /proc/no/such/place"])
        XCTAssertEqual(failed.status, 422, failed.body)
        XCTAssertTrue(failed.body.contains("nothing changed, the old sink goes on"), failed.body)
        let invalid = try api.request("POST", "/sink", json: ["plugin": "file-sink", "config_yaml": "directry: x"])
        XCTAssertEqual(invalid.status, 400, invalid.body)
        XCTAssertTrue(invalid.body.contains("directry"), invalid.body)
        XCTAssertEqual(supervisor.children().first, pid, "swaps never restart the worker")
        pid = nil

        let result = try supervisor.wait(timeout: 60)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertEqual(result.stderr.components(separatedBy: "sink swapped to").count - 1, 4, result.stderr)
        let values = try committedValues(in: ["a", "b", "c", "d"].map { dir + "/" + $0 })
        assertExactlyOnce(values, n)
        for folder in ["b", "c", "d"] {
            XCTAssertFalse(try committedValues(in: dir + "/" + folder).isEmpty, "sink \(folder) received nothing")
        }
    }

    // MARK: - Prometheus text

    private func assertPrometheusText(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let sample = try NSRegularExpression(pattern: #"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*\})? -?[0-9.e+Inf-]+$"#)
        for l in text.split(separator: "\n") {
            if l.hasPrefix("# HELP ") || l.hasPrefix("# TYPE ") { continue }
            let s = String(l)
            XCTAssertNotNil(sample.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)), "not a Prometheus sample: \(s)", file: file, line: line)
        }
        XCTAssertTrue(text.contains("# TYPE sluice_sink_rows_committed_total counter"), text, file: file, line: line)
    }

    private func value(of metric: String, in text: String) -> Double? {
        for l in text.split(separator: "\n") where l.hasPrefix(metric + "{") || l.hasPrefix(metric + " ") {
            return Double(l.split(separator: " ").last!)
        }
        return nil
    }
}
