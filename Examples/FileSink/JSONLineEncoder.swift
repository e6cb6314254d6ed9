import PluginKit

/// Renders a batch as JSON lines, one object per row, keys in column order.
///
/// Stateless apart from its reusable output buffer; one thread at a time.
final class JSONLineEncoder {
    private var out: [UInt8] = []

    func encode(_ batch: ArrowBatchView) -> [UInt8] {
        out.removeAll(keepingCapacity: true)
        let keys: [[UInt8]] = batch.columns.map { Array(jsonString($0.name)) }
        for row in 0..<batch.length {
            out.append(UInt8(ascii: "{"))
            for (i, column) in batch.columns.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: keys[i])
                out.append(UInt8(ascii: ":"))
                appendValue(column, row)
            }
            out.append(contentsOf: "}\n".utf8)
        }
        return out
    }

    private func appendValue(_ column: ArrowColumnView, _ row: Int) {
        if column.isNull(row) { out.append(contentsOf: "null".utf8); return }
        switch column.format {
        case .boolean: out.append(contentsOf: (column.bool(row) ? "true" : "false").utf8)
        case .uint64: out.append(contentsOf: String(column.fixed(row, as: UInt64.self)).utf8)
        case .float32: appendDouble(Double(column.fixed(row, as: Float.self)))
        case .float64: appendDouble(column.fixed(row, as: Double.self))
        case .utf8: out.append(contentsOf: jsonString(column.string(row)))
        case .binary: out.append(contentsOf: jsonString(String(decoding: column.bytes(row), as: UTF8.self)))
        default: out.append(contentsOf: String(column.int64(row)).utf8)
        }
    }

    private func appendDouble(_ value: Double) {
        // JSON has no NaN or infinity.
        out.append(contentsOf: (value.isFinite ? String(value) : "null").utf8)
    }

    private func jsonString(_ string: String) -> [UInt8] {
        var bytes: [UInt8] = [UInt8(ascii: "\"")]
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): bytes.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\n"): bytes.append(contentsOf: #"\n"#.utf8)
            case UInt8(ascii: "\r"): bytes.append(contentsOf: #"\r"#.utf8)
            case UInt8(ascii: "\t"): bytes.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: #"\u00"#.utf8)
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 15)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
        return bytes
    }
}
