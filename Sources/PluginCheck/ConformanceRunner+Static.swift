import Foundation
import Glibc
import PluginABI
import SluiceCore

/// The checks that need no instance: loading, the handshake, the descriptor and the hooks the
/// host calls without an instance (`validate_config`, `output_schema`).
extension ConformanceRunner {
    func checkLoad() -> CheckResult {
        let path = options.pluginPath
        guard FileManager.default.fileExists(atPath: path) else {
            return .from("load", problems: ["\(path) does not exist"])
        }
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown error"
            return .from("load", problems: ["dlopen failed: \(reason)"])
        }
        guard let symbol = dlsym(handle, SLUICE_PLUGIN_ENTRY_SYMBOL) else {
            return .from("load", problems: ["the library does not export `\(SLUICE_PLUGIN_ENTRY_SYMBOL)` (C: a non-static function; C++: extern \"C\"; Rust: #[no_mangle] pub extern \"C\"; Swift: @_cdecl)"])
        }
        entry = unsafeBitCast(symbol, to: sluice_plugin_entry_fn.self)
        return CheckResult(id: "load", outcome: .passed)
    }

    func checkHandshake() -> CheckResult {
        let entry = self.entry!
        let major = hostABIVersion >> 16
        var problems: [String] = []
        var refusals: [(offered: UInt32, message: String)] = []
        for (offered, direction) in [((major + 1) << 16, "newer"), ((major - 1) << 16 | 9, "older")] {
            var error = sluice_error()
            var descriptor: UnsafePointer<sluice_plugin_descriptor>?
            let outcome = CallOutcome(entry(offered, &descriptor, &error), error)
            let text = "\(offered >> 16).\(offered & 0xFFFF)"
            if outcome.ok {
                problems.append("accepted a host of the \(direction) ABI \(text); a different major must be refused with SLUICE_ERROR")
            } else if outcome.message.isEmpty {
                problems.append("refused ABI \(text) without a message; say which version the plugin was built for and which the host speaks")
            } else {
                refusals.append((offered, outcome.message))
            }
        }
        var error = sluice_error()
        var descriptor: UnsafePointer<sluice_plugin_descriptor>?
        let outcome = CallOutcome(entry(hostABIVersion, &descriptor, &error), error)
        guard outcome.ok else {
            return .from("handshake", problems: problems + ["refused this host's ABI \(major).\(hostABIVersion & 0xFFFF): \(outcome.failureText)"])
        }
        guard let descriptor else {
            return .from("handshake", problems: problems + ["returned SLUICE_OK but no descriptor"])
        }
        guard MemoryProbe.isReadable(descriptor, count: 8) else {
            return .from("handshake", problems: problems + ["returned a descriptor pointer that is not readable"])
        }
        plugin = CheckedPlugin(path: options.pluginPath, descriptor: descriptor)
        let pluginMajor = UnsafeRawPointer(descriptor).load(fromByteOffset: 4, as: UInt32.self) >> 16
        for refusal in refusals {
            let offered = "\(refusal.offered >> 16)."
            if !refusal.message.contains(offered) || !refusal.message.contains("\(pluginMajor).") {
                problems.append("refused ABI \(refusal.offered >> 16).\(refusal.offered & 0xFFFF) with \"\(refusal.message)\", which does not name both versions (the host's \(refusal.offered >> 16).\(refusal.offered & 0xFFFF) and the plugin's \(pluginMajor).x)")
            }
        }
        return .from("handshake", problems: problems)
    }

    func checkDescriptor() -> CheckResult {
        let plugin = self.plugin!
        let d = plugin.hooks
        var problems: [String] = [], notes: [String] = []
        let minimum = MemoryLayout<sluice_plugin_descriptor>.offset(of: \.notify_checkpoint_aborted)! + MemoryLayout<UnsafeRawPointer>.size
        if Int(d.struct_size) < minimum {
            problems.append("struct_size is \(d.struct_size), smaller than the \(minimum) bytes of ABI 1.0; set it to sizeof(sluice_plugin_descriptor)")
        }
        if d.abi_version >> 16 != hostABIVersion >> 16 {
            problems.append("abi_version is \(d.abi_version >> 16).\(d.abi_version & 0xFFFF) but the plugin accepted a host of ABI \(hostABIVersion >> 16).x; set it to SLUICE_ABI_VERSION")
        } else if d.abi_version & 0xFFFF >= 1 && !plugin.declaresOutputSchemaMember {
            problems.append("abi_version says 1.\(d.abi_version & 0xFFFF) but struct_size \(d.struct_size) does not cover output_schema, which 1.1 added; set struct_size to sizeof(sluice_plugin_descriptor)")
        }
        if d.abi_version & 0xFFFF > hostABIVersion & 0xFFFF {
            notes.append("built against ABI \(d.abi_version >> 16).\(d.abi_version & 0xFFFF), newer than this host's \(hostABIVersion >> 16).\(hostABIVersion & 0xFFFF): members added since are not called")
        }
        let kinds: [sluice_plugin_kind: String] = [SLUICE_KIND_SOURCE: "source", SLUICE_KIND_TRANSFORM: "transform", SLUICE_KIND_SINK: "sink"]
        guard let kindName = kinds[d.kind] else {
            return .from("descriptor", problems: problems + ["kind is \(d.kind.rawValue); expected SLUICE_KIND_SOURCE (1), SLUICE_KIND_TRANSFORM (2) or SLUICE_KIND_SINK (3)"])
        }
        for (member, pointer) in [("name", d.name), ("version", d.version), ("description", d.description)] {
            guard let pointer else { problems.append("\(member) is NULL"); continue }
            let text = String(cString: pointer)
            if text.isEmpty { problems.append("\(member) is empty") }
            if member == "name", !text.isEmpty,
               !text.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" || $0 == "." }) {
                notes.append("name '\(text)' has characters other than a-z, 0-9, '-', '_' and '.'; pipeline files name plugins by it")
            }
        }
        if d.create == nil { problems.append("create is NULL; it is required") }
        if d.destroy == nil { problems.append("destroy is NULL; it is required") }
        let hooks: [(String, Bool, sluice_plugin_kind)] = [("source_next", d.source_next != nil, SLUICE_KIND_SOURCE),
                                                          ("transform_process", d.transform_process != nil, SLUICE_KIND_TRANSFORM),
                                                          ("sink_write", d.sink_write != nil, SLUICE_KIND_SINK)]
        for (hook, present, kind) in hooks {
            if kind == d.kind && !present { problems.append("a \(kindName) needs \(hook), which is NULL") }
            if kind != d.kind && present { problems.append("a \(kindName) must leave \(hook) NULL (exactly one data hook, matching the kind)") }
        }
        if d.kind == SLUICE_KIND_SINK && plugin.declaresOutputSchemaMember && d.output_schema != nil {
            notes.append("sinks are never asked for output_schema")
        }
        return .from("descriptor", problems: problems, notes: notes)
    }

    func checkConfigSchema() -> CheckResult {
        let plugin = self.plugin!
        guard let schemaPointer = plugin.hooks.config_schema_json else {
            return .from("config-schema", problems: ["config_schema_json is NULL; publish at least {\"type\": \"object\", \"additionalProperties\": false}"])
        }
        let schemaText = String(cString: schemaPointer)
        var problems: [String] = [], notes: [String] = []
        guard let schema = (try? JSONSerialization.jsonObject(with: Data(schemaText.utf8))) as? [String: Any] else {
            return .from("config-schema", problems: ["config_schema_json is not a JSON object: \(schemaText.prefix(120))"])
        }
        if schema["type"] as? String != "object" {
            problems.append("the root schema must say \"type\": \"object\" (a configuration is a mapping)")
        }
        if let reason = ConfigSchemaValidator.schemaProblem(schemaText) {
            problems.append("the host cannot use this schema: \(reason)")
        }
        let unsupported = Self.unsupportedKeywords(in: schema)
        if !unsupported.isEmpty {
            notes.append("the host ignores these keywords, so it does not enforce them: \(unsupported.sorted().joined(separator: ", "))")
        }
        guard problems.isEmpty else { return .from("config-schema", problems: problems) }

        let role: OperatorRole = plugin.kind == SLUICE_KIND_SOURCE ? .source : plugin.kind == SLUICE_KIND_SINK ? .sink : .transform(1)
        func load(_ file: String) -> (String?, [String]) {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return (nil, ["cannot read \(file)"]) }
            do {
                let spec = try PipelineLoader.parseOperator(yaml: text, file: file, plugin: plugin.name, role: role, name: "checked",
                                                            environment: ProcessInfo.processInfo.environment)
                let errors = ConfigSchemaValidator.validate(spec.config, schemaJSON: schemaText, operatorName: "the configuration in \(file)")
                return (spec.configJSON, errors.map(\.description))
            } catch {
                return (nil, ["\(error)"])
            }
        }
        if let file = options.configFile {
            let (json, errors) = load(file)
            problems += errors
            if let json { configJSON = json; configLabel = file }
        } else if let required = schema["required"] as? [String], !required.isEmpty {
            problems.append("the schema requires \(required.joined(separator: ", ")): pass a configuration with --config FILE")
        }
        if let file = options.failingConfigFile {
            let (json, errors) = load(file)
            problems += errors
            failingConfigJSON = json
        }
        return .from("config-schema", problems: problems, notes: notes)
    }

    /// Keywords outside the subset the host checks (annotations are fine), anywhere in the schema.
    static func unsupportedKeywords(in schema: [String: Any]) -> Set<String> {
        let checked: Set<String> = ["type", "properties", "required", "additionalProperties", "enum", "items", "minimum", "maximum", "minLength"]
        let annotations: Set<String> = ["title", "description", "default", "$schema", "$id", "$comment", "examples", "deprecated", "readOnly", "writeOnly"]
        var found = Set<String>()
        for (key, value) in schema {
            if !checked.contains(key) && !annotations.contains(key) { found.insert(key) }
            if key == "properties", let properties = value as? [String: Any] {
                for case let sub as [String: Any] in properties.values { found.formUnion(unsupportedKeywords(in: sub)) }
            } else if key == "items" || key == "additionalProperties", let sub = value as? [String: Any] {
                found.formUnion(unsupportedKeywords(in: sub))
            }
        }
        return found
    }

    func checkValidateConfig() -> CheckResult {
        let plugin = self.plugin!
        guard let validate = plugin.hooks.validate_config else {
            return CheckResult(id: "validate-config", outcome: .skipped, details: ["the plugin has no validate_config (optional: the host then checks the schema only)"])
        }
        var problems: [String] = [], notes: [String] = []
        let watch = SideEffectWatch(directories: [options.workDirectory])
        func call(_ json: String) -> CallOutcome {
            var error = sluice_error()
            return CallOutcome(validate(json, &error), error)
        }
        let good = call(configJSON)
        if !good.ok { problems.append("refused the configuration \(configLabel): \(good.failureText)") }
        for bad in badConfigurations() {
            let outcome = call(bad.json)
            if outcome.ok {
                notes.append("accepted \(bad.why); the host checks the schema first, so only other hosts would pass it")
            } else if outcome.message.isEmpty {
                problems.append("refused \(bad.why) without a message; say what is wrong and how to fix it")
            } else if !outcome.configPath.isEmpty && !outcome.configPath.hasPrefix("/") {
                problems.append("refused \(bad.why) with config_path \"\(outcome.configPath)\", which is not a JSON Pointer (it starts with \"/\")")
            }
        }
        problems += watch.changes(during: "validate_config")
        return .from("validate-config", problems: problems, notes: notes)
    }

    /// Configurations the schema forbids, made from the good one: each declared property given a
    /// value of the wrong type, an unknown key where none is allowed, a required key left out.
    func badConfigurations() -> [(json: String, why: String)] {
        guard let schema = plugin!.hooks.config_schema_json.flatMap({ (try? JSONSerialization.jsonObject(with: Data(String(cString: $0).utf8))) as? [String: Any] }),
              let good = (try? JSONSerialization.jsonObject(with: Data(configJSON.utf8))) as? [String: Any] else { return [] }
        var bad: [([String: Any], String)] = []
        let properties = schema["properties"] as? [String: Any] ?? [:]
        for key in properties.keys.sorted().prefix(6) {
            guard let property = properties[key] as? [String: Any] else { continue }
            let types = (property["type"] as? [String]) ?? (property["type"] as? String).map { [$0] } ?? []
            guard !types.isEmpty else { continue }
            var config = good
            config[key] = types.contains("string") ? (types.contains("integer") || types.contains("number") ? [1, 2] as [Any] : 12345) : "sluice-check: not a \(types[0])"
            bad.append((config, "'\(key)' of the wrong type"))
        }
        if schema["additionalProperties"] as? Bool == false {
            var config = good
            config["sluice_check_unknown_key"] = true
            bad.append((config, "an unknown key"))
        }
        for key in (schema["required"] as? [String] ?? []).prefix(3) where good[key] != nil {
            var config = good
            config.removeValue(forKey: key)
            bad.append((config, "a configuration without the required '\(key)'"))
        }
        return bad.compactMap { config, why in
            (try? JSONSerialization.data(withJSONObject: config, options: [.sortedKeys])).map { (String(decoding: $0, as: UTF8.self), why) }
        }
    }

    func checkOutputSchema() -> CheckResult {
        let plugin = self.plugin!
        guard plugin.kind != SLUICE_KIND_SINK else {
            return CheckResult(id: "output-schema", outcome: .skipped, details: ["sinks are not asked for their output"])
        }
        guard plugin.declaresOutputSchemaMember, let hook = plugin.hooks.output_schema else {
            return CheckResult(id: "output-schema", outcome: .skipped,
                               details: ["the plugin has no output_schema (optional)"],
                               notes: ["declare it (ABI 1.1) so `sluice validate` can check the columns downstream before anything runs"])
        }
        var problems: [String] = [], notes: [String] = []
        let watch = SideEffectWatch(directories: [options.workDirectory])
        let schema = UnsafeMutablePointer<ArrowSchema>.allocate(capacity: 1)
        defer { schema.deallocate() }
        func call() -> CallOutcome {
            schema.initialize(to: ArrowSchema())
            var error = sluice_error()
            let status = withInputSchema { input in hook(configJSON, input, schema, &error) }
            return CallOutcome(status, error)
        }
        let outcome = call()
        guard outcome.ok else {
            let hint = plugin.kind == SLUICE_KIND_TRANSFORM ? " (the input columns were \(options.inputColumns.map(\.name).joined(separator: ", ")); give the ones it needs with --input)" : ""
            return .from("output-schema", problems: ["refused the configuration \(configLabel): \(outcome.failureText)\(hint)"])
        }
        guard schema.pointee.release != nil else {
            notes.append("returned no schema: its columns are unknown until run time, and `sluice validate` skips column checks after it")
            return .from("output-schema", problems: watch.changes(during: "output_schema"), notes: notes)
        }
        let schemaProblems = ArrowValidation.schemaProblems(schema, path: "output_schema")
        problems += schemaProblems
        if schemaProblems.isEmpty {
            if String(cString: schema.pointee.format) != "+s" {
                problems.append("output_schema must be a struct (\"+s\") whose children are the columns")
            } else {
                let columns = DeclaredColumn.of(schema)
                let names = columns.map(\.name)
                if names.contains("") { problems.append("output_schema has a column without a name") }
                if Set(names).count != names.count { problems.append("output_schema names a column twice") }
                declared = columns
            }
        }
        schema.pointee.release!(schema)
        if schema.pointee.release != nil { problems.append("the release callback of output_schema's schema did not set release to NULL") }
        problems += watch.changes(during: "output_schema")

        // Released schemas must free what they hold.
        let before = MemoryProbe.heapInUse()
        for _ in 0..<200 {
            guard call().ok, let release = schema.pointee.release else { break }
            release(schema)
        }
        let growth = MemoryProbe.heapInUse() - before
        if growth > 64 << 10 {
            problems.append("the heap grew by \(growth / 1024) KiB over 200 calls to output_schema, each released: its release callback does not free what it allocated")
        }
        return .from("output-schema", problems: problems, notes: notes)
    }
}

/// Files, descriptors, sockets and threads before a call, compared after it: what
/// "without side effects" means for validate_config and output_schema.
struct SideEffectWatch {
    let directories: [String]
    let files: [Set<String>]
    let resources: ResourceCount

    init(directories: [String]) {
        self.directories = directories
        files = directories.map(DirectoryListing.paths(under:))
        resources = ResourceCount.now()
    }

    func changes(during call: String) -> [String] {
        var problems: [String] = []
        let now = ResourceCount.now()
        if now.sockets > resources.sockets { problems.append("\(call) opened \(now.sockets - resources.sockets) socket(s); it must not connect anywhere") }
        else if now.descriptors > resources.descriptors { problems.append("\(call) left \(now.descriptors - resources.descriptors) file descriptor(s) open") }
        if now.threads > resources.threads { problems.append("\(call) started \(now.threads - resources.threads) thread(s) that are still running") }
        for (directory, before) in zip(directories, files) {
            let created = DirectoryListing.paths(under: directory).subtracting(before)
            if !created.isEmpty { problems.append("\(call) created \(created.sorted().prefix(3).joined(separator: ", ")) in \(directory); it must have no side effects") }
        }
        return problems
    }
}
