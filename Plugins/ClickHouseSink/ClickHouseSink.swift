import Foundation
import PluginKit

/// Writes batches into a ClickHouse table over the HTTP interface, as Native blocks encoded
/// straight from the Arrow columns.
///
/// The sink connects, checks the table against the input and assembles blocks
/// (``BlockAssembler``); a ``Delivery`` takes the finished blocks: ``ExactlyOnceDelivery``
/// (the default in an exactly-once pipeline) stages them per epoch and commits on
/// notify-complete, ``AtLeastOnceDelivery`` inserts them as they fill.
///
/// Threads: every method runs on the sink's operator thread; the deliveries run threads of
/// their own (a committer, a flush timer), described with them.
public final class ClickHouseSink: SinkPlugin {
    public static let name = "clickhouse-sink"
    public static let version = "1.0.0"
    public static let description = "Inserts rows into a ClickHouse table (Native format over HTTP), exactly once through checkpoints"

    let config: Config
    let host: PluginHost
    let delivery: Delivery
    private var client: ClickHouseClient?
    private(set) var serverVersion = ""
    private(set) var table: [TableColumn] = []
    private var assembler: BlockAssembler?

    var qualifiedTable: String { "\(config.database).\(config.table)" }

    public init(config: Config, host: PluginHost) throws {
        self.config = config
        self.host = host
        let exactlyOnce: Bool
        switch config.mode {
        case "exactly-once": exactlyOnce = true
        case "at-least-once": exactlyOnce = false
        default: exactlyOnce = host.exactlyOnce
        }
        delivery = exactlyOnce ? try ExactlyOnceDelivery(config: config, host: host) : AtLeastOnceDelivery(config: config, host: host)
    }

    static func makeRunID() -> String {
        String(UInt64.random(in: 0...UInt64.max), radix: 36)
    }

    // MARK: - Lifecycle

    public func restore(checkpointID: UInt64, state: [UInt8]) throws {
        try delivery.restore(checkpointID: checkpointID, state: state)
    }

    public func open() throws {
        let password = try config.password.resolve()
        let options = ClickHouseClient.Options(
            url: config.url, user: config.user, password: password, database: config.database,
            settings: config.settings.mapValues(\.text), gzip: config.compression == "gzip",
            connectTimeout: config.connectTimeout.seconds, requestTimeout: config.requestTimeout.seconds,
            tls: config.tls.settings, certificateAuthentication: config.tls.certificateAuthentication)
        if options.usesTLS, let warning = options.tls.insecureWarning(endpoint: config.url) {
            host.log(.warn, "warning: " + warning)
        }
        let client = try ClickHouseClient(options: options)
        self.client = client
        // A connection check tries once: the deadline is now, so nothing is retried.
        let deadline = Date().addingTimeInterval(host.isConnectionCheck ? 0 : config.openTimeout.seconds)
        let waiting: (ClickHouseError, Int, TimeInterval) -> Void = { [host] error, attempt, delay in
            host.log(.warn, "\(error); retrying open in \(ClickHouseSink.format(delay)) (attempt \(attempt))")
        }
        do {
            serverVersion = try client.retrying(config.retryPolicy, deadline: deadline, waiting: waiting) { _ in
                try client.query("SELECT version()").trimmingCharacters(in: .whitespacesAndNewlines)
            }
            table = try client.retrying(config.retryPolicy, deadline: deadline, waiting: waiting) { _ in try describeTable(client) }
        } catch let error as ClickHouseError {
            throw PluginError(openMessage(error))
        }
        try checkMapping()
        let delivery = self.delivery
        let assembler = BlockAssembler(builder: NativeBlockBuilder(table: table, tableName: qualifiedTable, mapping: config.mapping),
                                       maxRows: delivery.maxBlockRows, maxBytes: delivery.maxBlockBytes,
                                       finish: { builder in try delivery.finish(builder) })
        self.assembler = assembler
        try delivery.open(OpenTable(client: client, serverVersion: serverVersion, qualifiedTable: qualifiedTable,
                                    deadline: deadline, waiting: waiting), assembler: assembler)
    }

    public func close() throws {
        defer {
            client?.shutdown()
            client = nil
        }
        try delivery.close()
        assembler?.discard()
    }

    deinit {
        client?.shutdown()
    }

    // MARK: - Writing

    public func write(_ batch: ArrowBatch) throws {
        let columns = try ArrowSourceColumn.columns(of: batch)
        guard batch.length > 0, let assembler else { return }
        try delivery.beforeWrite()
        try assembler.append(columns, count: batch.length, maxAge: delivery.maxBlockAge)
    }

    // MARK: - Checkpoints

    public func snapshot(checkpointID: UInt64) throws -> [UInt8] {
        try delivery.beforeWrite()
        try assembler?.finishBlock()
        return try delivery.snapshot(checkpointID: checkpointID)
    }

    public func checkpointComplete(checkpointID: UInt64) throws {
        try delivery.checkpointComplete(checkpointID: checkpointID)
    }

    // MARK: - Opening

    private func describeTable(_ client: ClickHouseClient) throws -> [TableColumn] {
        let rows = try client.rows("DESCRIBE TABLE \(ClickHouseClient.quoteIdentifier(config.database)).\(ClickHouseClient.quoteIdentifier(config.table))")
        return rows.compactMap { fields in
            guard fields.count >= 2 else { return nil }
            return TableColumn(name: fields[0], typeName: fields[1], type: ClickHouseType(parsing: fields[1]),
                               defaultKind: fields.count > 2 ? fields[2] : "")
        }
    }

    private func openMessage(_ error: ClickHouseError) -> String {
        let url = client?.displayURL ?? config.url
        switch error {
        case .server(let status, let code, let message):
            switch code {
            case 60: return "table \(qualifiedTable) does not exist on ClickHouse at \(url) (\(message))"
            case 81: return "database \(config.database) does not exist on ClickHouse at \(url) (\(message))"
            case 192, 193, 194, 516:
                return "ClickHouse at \(url) rejected the credentials of user '\(config.user)' (\(message)); check user and password\(config.password.isGiven ? " (from \(config.password.origin))" : "")"
            default:
                if status == 401 || status == 403 {
                    return "ClickHouse at \(url) rejected user '\(config.user)' (HTTP \(status): \(message)); check user and password"
                }
                return "ClickHouse at \(url) failed while opening \(qualifiedTable): HTTP \(status): \(message)"
            }
        case .unreachable(let why):
            if host.isConnectionCheck { return why }
            return "\(why); gave up opening after \(ClickHouseSink.format(config.openTimeout.seconds))"
        case .local(let why), .tls(let why): return why
        }
    }

    /// Mapped target columns must exist; with `input_schema` the whole binding is checked.
    private func checkMapping() throws {
        let names = Set(table.map(\.name))
        let missing = config.columns.sorted { $0.key < $1.key }.filter { !$0.value.isEmpty && !names.contains($0.value) }
        if !missing.isEmpty {
            throw PluginError("column mapping: table \(qualifiedTable) has no column " + missing.map { "'\($0.value)' (for input column '\($0.key)')" }.joined(separator: ", ")
                + "; its columns are: " + table.map { "\($0.name) \($0.typeName)" }.joined(separator: ", "))
        }
        if let schema = config.inputSchema {
            let arrow = schema.sorted { $0.key < $1.key }.map { (name: $0.key, format: ArrowFormat(typeName: $0.value)!) }
            do { _ = try config.mapping.bind(arrow, to: table, tableName: qualifiedTable) } catch let error as ConversionError {
                throw PluginError(error.description, configPath: error.column.map { "/input_schema/" + ClickHouseSink.escapePointer($0) } ?? "/input_schema")
            }
        }
    }

    /// An input the table cannot take fails again after any restart (the same rows come
    /// back): the error points at `table`, which tells the host not to restart.
    static func permanent(_ error: ConversionError) -> PluginError {
        PluginError(error.description + "; a restart cannot fix this: change the table, the column mapping or the input", configPath: "/table")
    }

    /// `name` as one JSON Pointer token (RFC 6901).
    static func escapePointer(_ name: String) -> String {
        name.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    static func format(_ seconds: Double) -> String {
        seconds < 1 ? "\(Int((seconds * 1000).rounded())) ms" : String(format: "%.1f s", seconds)
    }
}

/// The body of this plugin's C entry point; `Entry/Entry.swift` exports it as
/// `sluice_plugin_entry`, so that the plugin's code can be linked into tests without the symbol.
public func clickHouseSinkEntry(_ host: UInt32, _ descriptor: UnsafeMutablePointer<UnsafePointer<sluice_plugin_descriptor>?>?,
               _ error: UnsafeMutablePointer<sluice_error>?) -> sluice_status {
    PluginExport.entry(ClickHouseSink.self, hostABIVersion: host, descriptor: descriptor, error: error)
}
