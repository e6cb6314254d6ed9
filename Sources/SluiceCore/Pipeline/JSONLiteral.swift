import Foundation

/// A JSON value from a plugin's schema (an `enum` member), comparable with config values.
enum JSONLiteral: Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    /// Integers and floats alike: JSON Schema treats 1 and 1.0 as equal.
    case number(Double)
    case string(String)
    case array([JSONLiteral])
    case object([String: JSONLiteral])

    /// The literal for an object from `JSONSerialization`; `nil` for anything else.
    init?(foundationObject object: Any) {
        switch object {
        case is NSNull:
            self = .null
        case let number as NSNumber:
            self = JSONLiteral.isBoolean(number) ? .bool(number.boolValue) : .number(number.doubleValue)
        case let string as String:
            self = .string(string)
        case let array as [Any]:
            let elements = array.compactMap(JSONLiteral.init(foundationObject:))
            guard elements.count == array.count else { return nil }
            self = .array(elements)
        case let dictionary as [String: Any]:
            let members = dictionary.compactMapValues(JSONLiteral.init(foundationObject:))
            guard members.count == dictionary.count else { return nil }
            self = .object(members)
        default:
            return nil
        }
    }

    /// The literal a config value equals, locations dropped.
    init(_ value: ConfigValue) {
        switch value {
        case .null: self = .null
        case let .bool(bool, _): self = .bool(bool)
        case let .int(int, _): self = .number(Double(int))
        case let .double(double, _): self = .number(double)
        case let .string(string, _): self = .string(string)
        case let .array(elements, _): self = .array(elements.map(JSONLiteral.init))
        case let .object(entries, _):
            self = .object(Dictionary(entries.map { ($0.key, JSONLiteral($0.value)) }) { _, last in last })
        }
    }

    /// How messages show the literal: strings in single quotes like other values, numbers
    /// without a needless ".0".
    var description: String {
        switch self {
        case .null: return "null"
        case let .bool(bool): return String(bool)
        case let .number(number):
            return number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case let .string(string): return "'\(string)'"
        case let .array(elements): return "[" + elements.map(\.description).joined(separator: ", ") + "]"
        case let .object(members):
            let sorted = members.sorted { $0.key < $1.key }
            return "{" + sorted.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        }
    }

    /// Whether an `NSNumber` from `JSONSerialization` is `true`/`false` rather than a number.
    /// `number is Bool` cannot tell (it is true for 0 and 1 too); booleans are instances of a
    /// dedicated subclass, which `NSNumber(value: true)` also is.
    static func isBoolean(_ number: NSNumber) -> Bool {
        type(of: number) == type(of: NSNumber(value: true))
    }
}
