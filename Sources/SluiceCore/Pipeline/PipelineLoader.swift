import Foundation
import Yams

/// Reads pipeline files.
///
/// # Pipeline file format
///
/// A pipeline file is one YAML document:
///
/// ```yaml
/// name: sensors                       # required, [A-Za-z0-9_.-]+
/// source:                             # required
///   plugin: sequence-source           # required: plugin name or path to a .so
///   name: numbers                     # optional operator name
///   config: { count: 100 }            # optional; handed to the plugin as JSON
/// transforms:                         # optional list
///   - plugin: pass-through
///   - sensor-parser: { on_error: dead-letter }   # shorthand: a one-key map PLUGIN: CONFIG
/// sink: { plugin: file-sink, config: { directory: out } }    # required
/// dead_letter: { plugin: file-sink, config: { directory: dlq } }  # optional
/// checkpointing: { interval: 5s, directory: /var/lib/sluice/x, retained: 3, mode: exactly-once, timeout: 60s }
/// restart: { initial_delay: 1s, max_delay: 30s, multiplier: 2, max_restarts: 10, reset_after: 3s }
/// queue_capacity: 16
/// chain_transforms: false
/// parallelism: 1
/// ```
///
/// ## Operators
///
/// `source`, each item of `transforms`, `sink` and `dead_letter` are operator blocks with the
/// keys `plugin` (required), `name` and `config`:
///
/// - `plugin` is a plugin name such as `file-sink`, or a path to a shared object (it contains
///   `/` or ends in `.so`).
/// - `name` defaults to `source`, `transform-1`, `transform-2`, ... (numbered from 1), `sink`
///   and `dead-letter`. Names are made of letters, digits, `_`, `.` and `-`, and must be
///   unique within the pipeline.
/// - `config` is a mapping handed to the plugin as a JSON object, keys in the order written;
///   an absent or empty `config` is `{}`. A plugin that rejects its config can name the
///   offending value with a JSON Pointer, and the error is reported at that value's line.
/// - Shorthand: a block with a single key that is not `plugin`, `name` or `config`, whose
///   value is a mapping or empty, means `PLUGIN: CONFIG`: `- sensor-parser: { on_error: x }`.
///
/// ## Checkpointing (required)
///
/// | key         | meaning                                          | default        |
/// |-------------|--------------------------------------------------|----------------|
/// | `interval`  | time between checkpoints, or `off` to disable    | `10s`          |
/// | `directory` | where checkpoints are stored (required)          |                |
/// | `retained`  | completed checkpoints kept, at least 1           | `3`            |
/// | `mode`      | `exactly-once` or `at-least-once`                | `exactly-once` |
/// | `timeout`   | how long a checkpoint may take                   | `60s`          |
///
/// ## Restart (optional)
///
/// A worker that dies after running at least `reset_after` (a kill, a crash after a healthy
/// run) is restarted at once, so recovery takes only the restore. A worker that dies sooner is
/// in a crash loop: the restart waits `initial_delay`, then `multiplier` times longer after each
/// further quick death, never longer than `max_delay`; `max_restarts` quick deaths in a row
/// end the run.
///
/// | key             | meaning                                   | default   |
/// |-----------------|-------------------------------------------|-----------|
/// | `initial_delay` | wait before the first restart             | `1s`      |
/// | `max_delay`     | longest wait, at least `initial_delay`    | `30s`     |
/// | `multiplier`    | growth factor per failure, at least 1     | `2`       |
/// | `max_restarts`  | quick deaths in a row before giving up    | unlimited |
/// | `reset_after`   | run time after which a death is no crash loop | `3s`  |
///
/// `queue_capacity` (1 to 65536, default 16) is the number of batches each queue between
/// two operator threads holds. `chain_transforms: true` runs the transforms on their source's
/// thread, with no queue between them (default `false`: a thread each). `parallelism` (1 to
/// 256, default 1) is the number of lanes each instance runs: whole copies of the chain, each
/// on its own threads, checkpointed together.
///
/// ## Values
///
/// - Durations: `250ms`, `5s`, `2m`, `1h`, `1.5s`, or a bare number meaning seconds.
/// - Scalars are typed by the YAML 1.2 core schema: `null`/`~`/empty, `true`/`false`,
///   integers (`12`, `0x1F`, `0o17`), floats (`1.5`, `1e3`); everything else, and every quoted
///   scalar, is a string. So `yes`, `no`, `on` and `off` are strings, as are `.inf`/`.nan`
///   (JSON cannot carry them).
/// - Anchors, aliases and merge keys (`<<: *defaults`) work as usual, up to 100,000 values in
///   all once aliases are expanded (more is refused as an alias bomb). A key may appear only
///   once in a mapping.
///
/// ## Environment variables
///
/// Every scalar value (not keys) may use `${VAR}`, replaced by the environment variable's
/// value; an unset variable is an error. `${VAR:-default}` uses `default` (which may be empty)
/// when the variable is unset or empty. `$${` is a literal `${`. Substitution happens before
/// typing, so `count: ${N:-5}` is the integer 5, while a quoted `"${N}"` is always a string.
///
/// A reference may stand anywhere a scalar may, flow mappings included
/// (`config: { count: ${N:-5} }`), and must fit on one line. A value is never read as YAML:
/// whatever it holds (quotes, `#`, `: `, `{`, newlines) becomes exactly one scalar, so a
/// password needs no quoting in the file. Line and column in errors are those of the file.
///
/// ## Errors
///
/// All problems of a file are reported together, each as `file:line:column: message`.
/// Unknown keys name the known ones and suggest the closest. Values under keys that look like
/// secrets (`password`, `token`, `api_key`, `*_password`, ...) are never printed.
public enum PipelineLoader {
    /// Loads and validates the pipeline file at `path`.
    ///
    /// - Throws: `PipelineErrors`, with every problem found; a file that cannot be read is one
    ///   error naming `path`.
    public static func load(
        path: String, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> PipelineSpec {
        try parse(yaml: readFile(path), file: path, environment: environment)
    }

    /// Parses and validates pipeline YAML; `file` names it in locations.
    ///
    /// - Throws: `PipelineErrors`, with every problem found.
    public static func parse(yaml: String, file: String, environment: [String: String]) throws -> PipelineSpec {
        let (root, text, placeholders) = try parseTree(yaml: yaml, file: file)
        guard let root else {
            throw PipelineErrors([PipelineError(
                location: SourceLocation(file: file, line: 1, column: 1),
                message: "the pipeline file is empty; it needs at least name, source, sink and checkpointing"
            )])
        }
        var reader = YAMLTreeReader(file: file, parsedText: text, environment: environment, placeholders: placeholders)
        let tree = reader.read(root)
        var decoder = PipelineDecoder(after: reader)
        let spec = decoder.decodePipeline(tree, file: file)
        guard let spec, decoder.errors.isEmpty else { throw PipelineErrors(decoder.errors) }
        return spec
    }

    /// Parses one operator block on its own — a sink to swap in. `yaml` is either a whole block
    /// (`plugin:`, `name:`, `config:`) or just the configuration mapping, in which case `plugin`
    /// names the plugin. The operator keeps `name` unless the block gives another.
    ///
    /// - Throws: `PipelineErrors`, located in `file`.
    public static func parseOperator(yaml: String, file: String, plugin: String?, role: OperatorRole, name: String,
                                     environment: [String: String]) throws -> OperatorSpec {
        let (root, text, placeholders) = try parseTree(yaml: yaml, file: file)
        var reader = YAMLTreeReader(file: file, parsedText: text, environment: environment, placeholders: placeholders)
        let start = SourceLocation(file: file, line: 1, column: 1)
        let tree = root.map { reader.read($0) } ?? .object([], start)
        var decoder = PipelineDecoder(after: reader)
        let isBlock = tree.objectEntries?.contains { $0.key == "plugin" } ?? false
        var spec: OperatorSpec
        if isBlock {
            spec = decoder.decodeOperator(tree, role: role, sectionName: "the sink block", keyLocation: nil).spec
            if tree.objectEntries?.contains(where: { $0.key == "name" }) != true { spec.name = name }
        } else {
            guard let plugin, !plugin.isEmpty else {
                throw PipelineErrors([PipelineError(location: start, message: "no plugin given: pass one, or write the whole block with plugin: and config:")])
            }
            let config: ConfigValue
            switch tree {
            case .object: config = tree
            case .null(let location): config = .object([], location)
            default:
                throw PipelineErrors([PipelineError(location: tree.location, message: "the sink configuration must be a mapping")])
            }
            spec = OperatorSpec(role: role, name: name, plugin: plugin, pluginLocation: start, config: config)
        }
        guard decoder.errors.isEmpty else { throw PipelineErrors(decoder.errors) }
        return spec
    }

    // MARK: - Reading

    /// The YAML node tree of `yaml`, with `${...}` references hidden from the parser (see
    /// `ReferencePlaceholders`), the text the parser read (its marks point into it), and what
    /// it takes to restore the references.
    private static func parseTree(yaml: String, file: String) throws -> (Node?, parsedText: String, ReferencePlaceholders?) {
        let (text, placeholders) = ReferencePlaceholders.hide(in: yaml)
        if let (line, column) = AliasExpansionLimit.firstExcess(in: text) {
            throw PipelineErrors([PipelineError(
                location: SourceLocation(file: file, line: line, column: column),
                message: "this alias makes the file expand to more than \(AliasExpansionLimit.maximumValues) values "
                    + "(nested aliases repeat what they name: an alias bomb?); write the repeated parts out instead")])
        }
        do {
            return (try Parser(yaml: text, resolver: YAMLTreeReader.resolver).singleRoot(), text, placeholders)
        } catch let error as YamlError {
            var located = PipelineError(yamlError: error, file: file)
            if let placeholders { located.message = placeholders.restore(located.message) }
            throw PipelineErrors([located])
        }
    }

    /// The text of the file at `path`, or a `PipelineErrors` naming the path and the reason.
    private static func readFile(_ path: String) throws -> String {
        func failure(_ reason: String) -> PipelineErrors {
            PipelineErrors([PipelineError(location: nil, message: "cannot read pipeline file '\(path)': \(reason)")])
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw failure("no such file")
        }
        guard !isDirectory.boolValue else { throw failure("it is a directory") }
        guard let data = FileManager.default.contents(atPath: path) else { throw failure("it is not readable") }
        guard let text = String(data: data, encoding: .utf8) else { throw failure("it is not valid UTF-8") }
        return text
    }
}
