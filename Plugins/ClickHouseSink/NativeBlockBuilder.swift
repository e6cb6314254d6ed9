import PluginKit

/// One Native block ready to send: the table columns it fills (the INSERT's column list), its
/// row count, and its bytes.
struct EncodedBlock {
    let columns: [String]
    let rows: Int
    let bytes: ArraySlice<UInt8>

    /// `INSERT INTO db.table (a, b) FORMAT Native`.
    func insertStatement(database: String, table: String) -> String {
        "INSERT INTO \(ClickHouseClient.quoteIdentifier(database)).\(ClickHouseClient.quoteIdentifier(table)) ("
            + columns.map(ClickHouseClient.quoteIdentifier).joined(separator: ", ") + ") FORMAT Native"
    }
}

/// How incoming Arrow columns map to table columns: renames and drops from the `columns`
/// option, and what to do with columns the table lacks.
struct ColumnMapping {
    /// Arrow name -> table column name; an empty name drops the column.
    var renames: [String: String] = [:]
    var ignoreUnknownColumns = false
    var nullAsDefault = false

    /// Pairs each Arrow column with its table column. Throws one message listing every problem:
    /// columns the table lacks, types that cannot be converted, two columns into one.
    func bind(_ arrow: [(name: String, format: ArrowFormat)], to table: [TableColumn], tableName: String) throws -> [(arrowIndex: Int, column: TableColumn)] {
        var bound: [(Int, TableColumn)] = []
        var unknown: [String] = [], problems: [String] = []
        var used: [String: String] = [:]
        var firstProblemColumn: String?
        let byName = Dictionary(table.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for (index, source) in arrow.enumerated() {
            let targetName = renames[source.name] ?? source.name
            if targetName.isEmpty { continue }
            guard let column = byName[targetName] else {
                if !ignoreUnknownColumns {
                    unknown.append(targetName == source.name ? "'\(source.name)'" : "'\(source.name)' (mapped to '\(targetName)')")
                }
                continue
            }
            if !column.isInsertable {
                firstProblemColumn = firstProblemColumn ?? source.name
                problems.append("column '\(source.name)': table column '\(column.name)' is \(column.defaultKind) and cannot be inserted into")
                continue
            }
            if let other = used[targetName] {
                firstProblemColumn = firstProblemColumn ?? source.name
                problems.append("columns '\(other)' and '\(source.name)' both map to table column '\(targetName)'")
                continue
            }
            used[targetName] = source.name
            guard let type = column.type else {
                firstProblemColumn = firstProblemColumn ?? source.name
                problems.append("column '\(source.name)': ClickHouse column '\(column.name)' has type \(column.typeName), which the ClickHouse sink cannot write")
                continue
            }
            guard NativeColumnEncoder.conversion(from: source.format, to: type) != nil else {
                firstProblemColumn = firstProblemColumn ?? source.name
                problems.append(NativeColumnEncoder.incompatibleMessage(arrowName: source.name, arrowFormat: source.format, column: column))
                continue
            }
            bound.append((index, column))
        }
        if !unknown.isEmpty {
            problems.insert("the input has column\(unknown.count == 1 ? "" : "s") \(unknown.joined(separator: ", ")) but table \(tableName) has no such column (its columns: \(table.map(\.name).joined(separator: ", "))); rename with 'columns: { input_name: table_column }', drop with 'columns: { input_name: \"\" }', or set ignore_unknown_columns: true", at: 0)
        }
        if !problems.isEmpty { throw ConversionError(description: problems.joined(separator: "; "), column: firstProblemColumn) }
        if bound.isEmpty { throw ConversionError(description: "no input column maps to a column of table \(tableName)") }
        return bound
    }
}

/// Builds Native blocks from Arrow batches for one table, with a fixed column set per block.
///
/// Not thread-safe: the sink's operator thread (or under the sink's lock).
final class NativeBlockBuilder {
    let table: [TableColumn]
    let tableName: String
    let mapping: ColumnMapping
    private(set) var encoders: [NativeColumnEncoder] = []
    private var arrowIndexes: [Int] = []
    private var signature: [String] = []
    private(set) var rows = 0
    private(set) var byteCount = 0

    init(table: [TableColumn], tableName: String, mapping: ColumnMapping) {
        self.table = table
        self.tableName = tableName
        self.mapping = mapping
    }

    /// Whether a batch with these columns needs a new binding (then the current block must
    /// be finished first).
    func needsBinding(_ columns: [ArrowSourceColumn]) -> Bool {
        NativeBlockBuilder.signature(columns) != signature
    }

    static func signature(_ columns: [ArrowSourceColumn]) -> [String] {
        columns.map { $0.name + "\u{0}" + $0.format.formatString }
    }

    /// Binds the columns of a new batch schema. The current block must be empty.
    func bind(_ columns: [ArrowSourceColumn]) throws {
        precondition(rows == 0, "bind with a block in progress")
        let pairs = try mapping.bind(columns.map { ($0.name, $0.format) }, to: table, tableName: tableName)
        encoders = try pairs.map { pair in
            try NativeColumnEncoder(arrowName: columns[pair.arrowIndex].name, arrowFormat: columns[pair.arrowIndex].format,
                                    column: pair.column, nullAsDefault: mapping.nullAsDefault)
        }
        arrowIndexes = pairs.map(\.arrowIndex)
        signature = NativeBlockBuilder.signature(columns)
    }

    /// Appends rows of a bound batch.
    func append(_ columns: [ArrowSourceColumn], rows range: Range<Int>) throws {
        for (encoder, index) in zip(encoders, arrowIndexes) {
            try encoder.append(columns[index], rows: range)
        }
        rows += range.count
        byteCount = encoders.reduce(0) { $0 + $1.byteCount }
    }

    /// The block built so far, or nil when it is empty; the builder is empty afterwards.
    func finishBlock() -> EncodedBlock? {
        guard rows > 0 else { return nil }
        let block = EncodedBlock(columns: encoders.map(\.column.name), rows: rows, bytes: NativeBlock.encode(encoders, rows: rows)[...])
        discard()
        return block
    }

    /// Writes the block built so far as the next staged block of the current epoch, straight
    /// from the column buffers (no copy of the whole block); the builder is empty afterwards.
    /// Returns false when the block is empty.
    func finishBlock(stagingInto staging: NativeStaging) throws -> Bool {
        guard rows > 0 else { return false }
        defer { discard() }
        var prefix: [UInt8] = []
        NativeBlock.appendVarUInt(UInt64(encoders.count), to: &prefix)
        NativeBlock.appendVarUInt(UInt64(rows), to: &prefix)
        try staging.stage(columns: encoders.map(\.column.name), rows: rows) { write in
            try prefix.withUnsafeBytes(write)
            for encoder in encoders { try encoder.forEachChunk(write) }
        }
        return true
    }

    /// Drops the rows built so far.
    func discard() {
        for encoder in encoders { encoder.reset() }
        rows = 0
        byteCount = 0
    }
}
