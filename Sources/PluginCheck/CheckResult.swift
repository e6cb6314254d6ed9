import Foundation

/// The outcome of one check, as the report prints it.
public struct CheckResult: Equatable, Sendable {
    public enum Outcome: String, Sendable { case passed = "ok", failed = "FAIL", skipped = "skip" }

    /// Stable identifier (`handshake`, `ownership`, ...), for scripts and tests.
    public let id: String
    public var outcome: Outcome
    /// What failed, or why it was skipped.
    public var details: [String]
    /// Advice that does not fail the check.
    public var notes: [String]

    public init(id: String, outcome: Outcome, details: [String] = [], notes: [String] = []) {
        self.id = id
        self.outcome = outcome
        self.details = details
        self.notes = notes
    }

    /// Passed unless `problems` is non-empty.
    static func from(_ id: String, problems: [String], notes: [String] = []) -> CheckResult {
        CheckResult(id: id, outcome: problems.isEmpty ? .passed : .failed, details: problems, notes: notes)
    }

    /// What each check covers, in the order they run: the report's legend and the docs' list.
    public static let catalogue: [(id: String, summary: String)] = [
        ("load", "the file is a shared object exporting sluice_plugin_entry"),
        ("handshake", "a host of a newer and of an older major is refused with a message naming both versions; the current one is accepted"),
        ("descriptor", "struct_size, ABI version, kind, name, version and the hooks the kind requires"),
        ("config-schema", "config_schema_json is JSON Schema the host understands, and the configuration satisfies it"),
        ("validate-config", "validate_config accepts the configuration, refuses bad ones with a message, and has no side effects"),
        ("output-schema", "output_schema declares a valid struct of named columns, without side effects, and releases what it returns"),
        ("lifecycle", "create/open/close/destroy three times; create connects nowhere"),
        ("open-failure", "destroy after a failed open (with --failing-config)"),
        ("data", "every emitted batch is valid Arrow matching output_schema; sinks and transforms take nulls, empty and sliced batches and unicode"),
        ("ownership", "every struct handed over is released exactly once, before destroy; the plugin's own release callbacks mark their structs released"),
        ("leaks", "the heap does not keep growing with batches once they are released"),
        ("checkpoints", "snapshot, restore into a fresh instance and the same next output (deterministic sources); notify-complete and notify-aborted in every order the host uses"),
        ("threads", "host callbacks come with the right host_data, reject only during transform_process on its thread, and nothing calls back after destroy"),
    ]
}

/// The line protocol between the checking child and the command that prints the report: the
/// child announces each check before it starts, so a crash is pinned on the check it happened in.
public enum CheckProtocol {
    public static let prefix = "@@sluice-check "

    public static func beginLine(_ id: String) -> String { prefix + "begin " + id }

    public static func resultLine(_ result: CheckResult) -> String {
        let object: [String: Any] = ["id": result.id, "outcome": result.outcome.rawValue, "details": result.details, "notes": result.notes]
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        return prefix + "result " + String(decoding: data, as: UTF8.self)
    }

    public enum Line { case begin(String), result(CheckResult), other(String) }

    public static func parse(_ line: String) -> Line {
        guard line.hasPrefix(prefix) else { return .other(line) }
        let rest = line.dropFirst(prefix.count)
        if rest.hasPrefix("begin ") { return .begin(String(rest.dropFirst(6))) }
        if rest.hasPrefix("result "),
           let object = (try? JSONSerialization.jsonObject(with: Data(rest.dropFirst(7).utf8))) as? [String: Any],
           let id = object["id"] as? String, let outcome = (object["outcome"] as? String).flatMap(CheckResult.Outcome.init(rawValue:)) {
            return .result(CheckResult(id: id, outcome: outcome, details: object["details"] as? [String] ?? [],
                                       notes: object["notes"] as? [String] ?? []))
        }
        return .other(line)
    }
}
