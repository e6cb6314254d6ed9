import Foundation
import SluiceArrow

/// The columns the checker feeds a sink or transform: `name:type` or `name:type?` (nullable),
/// comma-separated, e.g. `sensor_id:string,ts:timestamp[ms],humidity:float64?`.
///
/// Pure value types.
public struct InputColumn: Equatable, Sendable {
    public let name: String
    /// The column's Arrow type (one sluice reads and writes).
    public let type: ArrowFormat
    public let nullable: Bool

    /// Used when no `--input` is given: one column of each common kind, most nullable.
    public static let defaults: [InputColumn] = try! parseList("id:int64,name:string?,value:float64?,flag:bool?,at:timestamp[ms]?,count:uint32?")

    /// The Arrow format string of the column.
    var format: String { type.formatString }

    /// Parses the `--input` list; the error names the part at fault and the types allowed.
    public static func parseList(_ text: String) throws -> [InputColumn] {
        var columns: [InputColumn] = []
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            let pieces = part.split(separator: ":", maxSplits: 1).map(String.init)
            guard pieces.count == 2, !pieces[0].isEmpty else {
                throw InputColumnError("'\(part)' is not name:type")
            }
            var typeName = pieces[1]
            let nullable = typeName.hasSuffix("?")
            if nullable { typeName.removeLast() }
            guard let type = parseType(typeName) else {
                throw InputColumnError("'\(part)': unknown type '\(typeName)'; use one of \(typeNames)")
            }
            guard !columns.contains(where: { $0.name == pieces[0] }) else {
                throw InputColumnError("column '\(pieces[0])' is given twice")
            }
            columns.append(InputColumn(name: pieces[0], type: type, nullable: nullable))
        }
        guard !columns.isEmpty else { throw InputColumnError("no columns given") }
        return columns
    }

    public static var typeNamesForHelp: String { typeNames }

    static let typeNames = "string, binary, bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64, date32, timestamp[s|ms|us|ns]"

    private static func parseType(_ name: String) -> ArrowFormat? {
        switch name {
        case "string": return .utf8
        case "binary": return .binary
        case "bool": return .boolean
        case "int8": return .int8
        case "int16": return .int16
        case "int32": return .int32
        case "int64": return .int64
        case "uint8": return .uint8
        case "uint16": return .uint16
        case "uint32": return .uint32
        case "uint64": return .uint64
        case "float32": return .float32
        case "float64": return .float64
        case "date32": return .date32
        case "timestamp[s]": return .timestamp(.seconds, timeZone: "")
        case "timestamp[ms]": return .timestamp(.milliseconds, timeZone: "")
        case "timestamp[us]": return .timestamp(.microseconds, timeZone: "")
        case "timestamp[ns]": return .timestamp(.nanoseconds, timeZone: "")
        default: return nil
        }
    }
}

public struct InputColumnError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
