import ArgumentParser
import Foundation

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show a running pipeline's status.")
    @OptionGroup var admin: AdminOptions
    @Flag(help: "Print the raw JSON.") var json = false

    func run() throws {
        let client = try admin.client()
        let status = try adminCall { try client.json("GET", "/status") }
        if json {
            let data = try JSONSerialization.data(withJSONObject: status, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print("pipeline \(status["pipeline"] ?? "?"): \(status["state"] ?? "?") (worker pid \(status["worker_pid"] ?? "?"), \(status["restarts"] ?? 0) restarts, up \(Int(status["uptime_seconds"] as? Double ?? 0)) s)")
        print("rows committed \(status["rows_committed"] ?? 0), dead letters \(status["dead_letters_committed"] ?? 0), checkpoints \(status["checkpoints_completed"] ?? 0) (\(status["checkpoints_aborted"] ?? 0) aborted), sink swaps \(status["sink_swaps"] ?? 0)")
        if let lag = status["lag"] as? Int {
            let partitions = (status["operators"] as? [[String: Any]] ?? []).flatMap { ($0["lag_by_partition"] as? [String: Int] ?? [:]).sorted { $0.key < $1.key } }
            print("lag \(lag) messages" + (partitions.isEmpty ? "" : " (" + partitions.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")"))
        } else {
            print("lag unknown (the source does not report it)")
        }
        if let last = status["last_checkpoint"] as? [String: Any] {
            print("last checkpoint \(last["id"] ?? "?"): \(String(format: "%.1f", last["duration_ms"] as? Double ?? 0)) ms, \(last["size_bytes"] ?? 0) bytes of state")
        }
        if let lanes = status["lanes"] as? [Int], let instances = status["instances"] as? Int, let parallelism = status["parallelism"] as? Int,
           instances * parallelism > 1 {
            print("instance \(status["instance"] ?? 0) of \(instances), \(parallelism) lane(s) each: lanes \(lanes.map(String.init).joined(separator: ", ")) of \(instances * parallelism)")
        }
        print("\(pad("operator", 16)) \(pad("lane", 5)) \(pad("plugin", 18)) \(pad("in", 12)) \(pad("out", 12)) \(pad("queue", 6)) \(pad("dead letters", 12)) status")
        for op in status["operators"] as? [[String: Any]] ?? [] {
            print("\(pad("\(op["name"] ?? "")", 16)) \(pad("\(op["lane"] ?? 0)", 5)) \(pad("\(op["plugin"] ?? "")", 18)) \(pad("\(op["records_in"] ?? 0)", 12)) \(pad("\(op["records_out"] ?? 0)", 12)) \(pad("\(op["queue_depth"] ?? 0)", 6)) \(pad("\(op["dead_letters"] ?? 0)", 12)) \(op["status"] as? String ?? "")")
        }
    }
}

struct SavepointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "savepoint", abstract: "Take a named savepoint of a running pipeline (kept until deleted by hand).")
    @Argument(help: "The savepoint's name: letters, digits, '_', '.' and '-'.") var name: String
    @OptionGroup var admin: AdminOptions

    func run() throws {
        let client = try admin.client()
        let answer = try adminCall { try client.json("POST", "/savepoints", body: ["name": name], timeout: 600) }
        print("savepoint '\(name)' is checkpoint \(answer["id"] ?? "?"), written to \(answer["path"] ?? "?")")
    }
}

struct SwapSinkCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "swap-sink",
        abstract: "Replace a running pipeline's sink at the next checkpoint, losing and repeating nothing.")
    @Option(help: "The new sink plugin: a name or a path to a .so (optional when --config holds a whole block with plugin:).") var plugin: String?
    @Option(help: "A YAML file with the new sink's configuration mapping, or its whole block (plugin:, config:).") var config: String
    @OptionGroup var admin: AdminOptions

    func run() throws {
        guard let yaml = try? String(contentsOfFile: config, encoding: .utf8) else {
            printError("cannot read \(config)")
            throw ExitCode.failure
        }
        var pluginArgument = plugin
        if let p = plugin, p.contains("/"), !p.hasPrefix("/") {
            pluginArgument = FileManager.default.currentDirectoryPath + "/" + p  // the worker resolves from its own folder
        }
        let client = try admin.client()
        var body: [String: Any] = ["config_yaml": yaml, "file": config]
        if let pluginArgument { body["plugin"] = pluginArgument }
        let answer = try adminCall { try client.json("POST", "/sink", body: body, timeout: 600) }
        print("sink swapped from \(answer["from"] ?? "?") to \(answer["to"] ?? "?") after checkpoint \(answer["checkpoint"] ?? "?"); input paused \(String(format: "%.1f", answer["paused_ms"] as? Double ?? 0)) ms (\(String(format: "%.1f", answer["stall_ms_beyond_commit"] as? Double ?? 0)) ms after the commit)")
    }
}

struct StopCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop a running pipeline gracefully: the source stops, a final checkpoint (or savepoint) completes, the sinks commit, and the process ends.",
        discussion: "With --savepoint the final checkpoint is kept as that savepoint and, once the sinks have committed every epoch they sealed, marked as able to start another layout (a rescale: stop every instance with the same name).")
    @Option(help: "Keep the final checkpoint as a savepoint of this name.") var savepoint: String?
    @Option(help: "Seconds to wait for the pipeline to end.") var timeout: Double = 600
    @OptionGroup var admin: AdminOptions

    func run() throws {
        let client = try admin.client()
        let body: [String: Any] = savepoint.map { ["savepoint": $0] } ?? [:]
        let answer = try adminCall { try client.json("POST", "/stop", body: body, timeout: timeout) }
        if let savepoint {
            print("final savepoint '\(savepoint)' is checkpoint \(answer["id"] ?? "?"), written to \(answer["path"] ?? "?")")
        } else {
            print("final checkpoint \(answer["id"] ?? "?") complete")
        }
        // The admin API goes away once every operator has closed (the sinks have committed).
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            guard (try? client.call("GET", "/healthz", timeout: 2)) != nil else {
                print("the pipeline has stopped")
                return
            }
            usleep(100_000)
        }
        printError("the pipeline did not stop within \(Int(timeout)) s after its final checkpoint; see its log")
        throw ExitCode.failure
    }
}
