import Foundation
import PluginKit

/// Turns JSON messages into typed rows, one pass over the bytes per message. A message that
/// is not valid UTF-8 or JSON, lacks a required field, has a wrong type or an out-of-range
/// value goes to the dead-letter output with the reason (or fails the pipeline, or is counted
/// and dropped, as `on_error` says). Nothing is dropped silently.
final class SensorParser: TransformPlugin {
    typealias Config = SensorParserConfig

    public static let name = "sensor-parser"
    public static let version = "1.0.0"
    public static let description = "Parses JSON messages into typed columns; bad messages go to dead letters"
    public static let configSchema = SensorParserConfig.schema

    static func validate(_ config: Config) throws {
        _ = try config.errorPolicy()
        let fields = try config.fieldSpecs()
        do { _ = try PathNode.build(fields) } catch let conflict as PathConflict {
            throw PluginError(conflict.message, configPath: "/columns")
        }
    }

    /// The configured columns, then the `keep` columns as the input has them. Checks that the
    /// input has the payload column (binary or utf8) and every `keep` column.
    static func outputSchema(config: Config, input: [ArrowField]?) throws -> [ArrowField]? {
        let fields = try config.fieldSpecs().map { ArrowField(name: $0.name, format: $0.type.arrowFormat, nullable: $0.nullable) }
        guard let input else { return nil }
        let payload = config.payloadColumn ?? "payload"
        guard let column = input.first(where: { $0.name == payload }) else {
            throw PluginError("the input has no column '\(payload)' (it has \(input.map(\.name).joined(separator: ", "))); set payload_column",
                              configPath: config.payloadColumn == nil ? "" : "/payload_column")
        }
        guard column.format == .binary || column.format == .utf8 else {
            throw PluginError("column '\(payload)' is \(column.format.formatString), not binary or utf8 text", configPath: "/payload_column")
        }
        let kept = try (config.keep ?? []).enumerated().map { index, name -> ArrowField in
            guard let field = input.first(where: { $0.name == name }) else {
                throw PluginError("keep: the input has no column '\(name)' (it has \(input.map(\.name).joined(separator: ", ")))", configPath: "/keep/\(index)")
            }
            return field
        }
        return fields + kept
    }

    private let host: PluginHost
    private let payloadColumn: String
    private let keep: [String]
    private let policy: Config.ErrorPolicy
    private let scanner: RecordScanner
    private let builders: [ArrowColumnBuilder]
    /// The same builders, unretained, for the per-row loop (the array above keeps them alive).
    private let builderRefs: UnsafeMutablePointer<Unmanaged<ArrowColumnBuilder>>
    private let drops = DropCounter()

    init(config: Config, host: PluginHost) throws {
        self.host = host
        payloadColumn = config.payloadColumn ?? "payload"
        keep = config.keep ?? []
        policy = try config.errorPolicy()
        let fields = try config.fieldSpecs()
        scanner = try RecordScanner(fields: fields)
        builders = fields.map { ArrowColumnBuilder(name: $0.name, format: $0.type.arrowFormat, nullable: $0.nullable) }
        builderRefs = .allocate(capacity: builders.count)
        builderRefs.initialize(from: builders.map { Unmanaged.passUnretained($0) }, count: builders.count)
    }

    deinit { builderRefs.deallocate() }

    public func process(_ batch: ArrowBatch) throws -> ArrowBatch {
        let input = try batch.view()
        guard let payload = input.column(named: payloadColumn), payload.format == .binary || payload.format == .utf8 else {
            throw PluginError("the input has no binary or utf8 column '\(payloadColumn)' (columns: \(input.columns.map(\.name).joined(separator: ", "))); set payload_column")
        }
        let kept = try keep.map { name -> (ArrowColumnView, ArrowColumnBuilder) in
            guard let column = input.column(named: name) else {
                throw PluginError("keep: the input has no column '\(name)' (columns: \(input.columns.map(\.name).joined(separator: ", ")))", configPath: "/keep")
            }
            return (column, ArrowColumnBuilder(name: name, format: column.format, nullable: column.nullable, capacity: input.length))
        }
        for row in 0..<input.length {
            let reason = payload.isNull(row) ? "invalid_json: the message has no payload" : scanner.scan(payload.bytes(row))
            if let reason {
                try handleBadRecord(row: row, reason: reason, input: input)
                continue
            }
            appendRow(payload.isNull(row) ? nil : payload.bytes(row).baseAddress)
            for (column, builder) in kept { builder.append(row: row, of: column) }
        }
        drops.logIfDue(host)
        return ArrowBatchBuilder(columns: builders + kept.map(\.1)).finish()
    }

    public func close() throws {
        drops.logTotal(host)
    }

    // MARK: - Rows

    /// Appends the scanner's slots as one row. Reads only flat buffers, so the loop does no
    /// reference counting.
    @inline(__always)
    private func appendRow(_ payload: UnsafeRawPointer?) {
        let slots = scanner.slots, types = scanner.types
        for i in 0..<builders.count {
            builderRefs[i]._withUnsafeGuaranteedRef { builder in
                let slot = slots[i]
                guard slot.state == .value else {
                    if let value = scanner.fields[i].defaultValue { append(value, builder) } else { builder.appendNull() }
                    return
                }
                switch types[i] {
                case .string:
                    if slot.inScratch {
                        builder.append(bytes: UnsafeRawBufferPointer(start: scanner.scratch + slot.start, count: slot.length))
                    } else {
                        builder.append(bytes: UnsafeRawBufferPointer(start: payload! + slot.start, count: slot.length))
                    }
                case .bool: builder.append(slot.bool)
                case .uint: builder.append(slot.uint)
                case .int, .timestamp: builder.append(slot.int)
                case .float32, .float64: builder.append(slot.double)
                }
            }
        }
    }

    private func append(_ value: ScalarValue, _ builder: ArrowColumnBuilder) {
        switch value {
        case .int(let i): builder.append(i)
        case .uint(let u): builder.append(u)
        case .double(let d): builder.append(d)
        case .bool(let b): builder.append(b)
        case .string(let s): s.withUnsafeBytes { builder.append(bytes: $0) }
        }
    }

    // MARK: - Bad records

    private func handleBadRecord(row: Int, reason: String, input: ArrowBatchView) throws {
        switch policy {
        case .deadLetter:
            try host.reject(row: row, reason: reason)
        case .fail:
            let id = input.column(named: "message_id").map { " (message \($0.string(row)))" } ?? ""
            throw PluginError("record \(row)\(id) is bad and on_error is fail: \(reason)")
        case .drop:
            drops.count(reason)
        }
    }
}

/// Counts dropped records by reason category and logs them at most every 10 seconds.
final class DropCounter {
    private var pending: [String: Int] = [:]
    private var total = 0
    private var lastLog = Date.distantPast

    func count(_ reason: String) {
        let category = reason.prefix { $0 != ":" }
        pending[String(category), default: 0] += 1
        total += 1
    }

    func logIfDue(_ host: PluginHost) {
        guard !pending.isEmpty, Date().timeIntervalSince(lastLog) >= 10 else { return }
        lastLog = Date()
        let summary = pending.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
        host.log(.warn, "dropped \(pending.values.reduce(0, +)) bad records (on_error: drop) — \(summary)")
        pending.removeAll()
    }

    func logTotal(_ host: PluginHost) {
        if total > 0 { host.log(.warn, "dropped \(total) bad records in all (on_error: drop)") }
    }
}

/// The body of this plugin's C entry point; `Entry/Entry.swift` exports it as
/// `sluice_plugin_entry`, so that the plugin's code can be linked into tests without the symbol.
public func sensorParserEntry(_ host: UInt32, _ descriptor: UnsafeMutablePointer<UnsafePointer<sluice_plugin_descriptor>?>?,
               _ error: UnsafeMutablePointer<sluice_error>?) -> sluice_status {
    PluginExport.entry(SensorParser.self, hostABIVersion: host, descriptor: descriptor, error: error)
}
