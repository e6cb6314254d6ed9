import Foundation

/// The subset of JSON Schema a plugin can use to describe its config: `type`, `properties`,
/// `required`, `additionalProperties`, `enum`, `items`, `minimum`, `maximum` and `minLength`.
/// Other keywords (`title`, `description`, `default`, `$schema`, ...) are ignored.
final class ConfigSchema {
    /// Why a schema could not be understood.
    struct Invalid: Error {
        var reason: String
    }

    /// What `additionalProperties` allows for keys not in `properties`.
    enum AdditionalProperties {
        case allowed
        case forbidden
        case matching(ConfigSchema)
    }

    /// The type names JSON Schema defines.
    static let typeNames: Set<String> = ["object", "array", "string", "integer", "number", "boolean", "null"]

    /// `false` as a schema: no value is valid.
    let rejectsEverything: Bool
    /// Allowed type names; `nil` when any type is allowed.
    let types: [String]?
    /// Schemas of known object keys.
    let properties: [String: ConfigSchema]
    /// Object keys that must be present.
    let required: [String]
    /// What other object keys may be.
    let additionalProperties: AdditionalProperties
    /// The only values allowed, if restricted.
    let enumValues: [JSONLiteral]?
    /// Schema of every array element.
    let items: ConfigSchema?
    /// Inclusive bounds for numbers.
    let minimum: Double?
    let maximum: Double?
    /// Minimum string length, in Unicode scalars (JSON Schema counts code points).
    let minLength: Int?

    /// Parses a schema from JSON text.
    convenience init(jsonText: String) throws {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(jsonText.utf8), options: [.fragmentsAllowed])
        } catch {
            throw Invalid(reason: "it is not valid JSON")
        }
        try self.init(object: object, path: "")
    }

    /// Parses the schema at `path` (a JSON Pointer, for messages) from a `JSONSerialization` object.
    private init(object: Any, path: String) throws {
        if let number = object as? NSNumber, JSONLiteral.isBoolean(number) {
            // Boolean schemas: `true` accepts everything, `false` nothing.
            self.rejectsEverything = !number.boolValue
            (types, properties, required, additionalProperties) = (nil, [:], [], .allowed)
            (enumValues, items, minimum, maximum, minLength) = (nil, nil, nil, nil, nil)
            return
        }
        guard let keywords = object as? [String: Any] else {
            throw Invalid(reason: "\(Self.describe(path)) is not an object or a boolean")
        }
        rejectsEverything = false
        types = try Self.types(keywords["type"], path: path)
        properties = try Self.properties(keywords["properties"], path: path)
        required = try Self.strings(keywords["required"], keyword: "required", path: path)
        additionalProperties = try Self.additionalProperties(keywords["additionalProperties"], path: path)
        enumValues = try Self.enumValues(keywords["enum"], path: path)
        items = try keywords["items"].map { try ConfigSchema(object: $0, path: path + "/items") }
        minimum = try Self.number(keywords["minimum"], keyword: "minimum", path: path)
        maximum = try Self.number(keywords["maximum"], keyword: "maximum", path: path)
        minLength = try Self.count(keywords["minLength"], keyword: "minLength", path: path)
    }

    // MARK: - Keywords

    private static func types(_ value: Any?, path: String) throws -> [String]? {
        guard let value else { return nil }
        let names = (value as? String).map { [$0] } ?? (value as? [Any])?.compactMap { $0 as? String }
        guard let names, !names.isEmpty, names.count == ((value as? [Any])?.count ?? 1),
              names.allSatisfy(typeNames.contains)
        else {
            let names = typeNames.sorted().joined(separator: ", ")
            throw Invalid(reason: "'type' at \(describe(path)) must be one of \(names) or a list of them")
        }
        return names
    }

    private static func properties(_ value: Any?, path: String) throws -> [String: ConfigSchema] {
        guard let value else { return [:] }
        guard let members = value as? [String: Any] else {
            throw Invalid(reason: "'properties' at \(describe(path)) is not an object")
        }
        var properties: [String: ConfigSchema] = [:]
        for (key, member) in members {
            properties[key] = try ConfigSchema(object: member, path: path + "/properties/" + key)
        }
        return properties
    }

    private static func strings(_ value: Any?, keyword: String, path: String) throws -> [String] {
        guard let value else { return [] }
        guard let array = value as? [Any], let strings = array as? [String] else {
            throw Invalid(reason: "'\(keyword)' at \(describe(path)) is not a list of strings")
        }
        return strings
    }

    private static func additionalProperties(_ value: Any?, path: String) throws -> AdditionalProperties {
        guard let value else { return .allowed }
        if let number = value as? NSNumber, JSONLiteral.isBoolean(number) {
            return number.boolValue ? .allowed : .forbidden
        }
        return .matching(try ConfigSchema(object: value, path: path + "/additionalProperties"))
    }

    private static func enumValues(_ value: Any?, path: String) throws -> [JSONLiteral]? {
        guard let value else { return nil }
        guard let array = value as? [Any] else {
            throw Invalid(reason: "'enum' at \(describe(path)) is not a list")
        }
        return array.compactMap(JSONLiteral.init(foundationObject:))
    }

    private static func number(_ value: Any?, keyword: String, path: String) throws -> Double? {
        guard let value else { return nil }
        guard let number = value as? NSNumber, !JSONLiteral.isBoolean(number) else {
            throw Invalid(reason: "'\(keyword)' at \(describe(path)) is not a number")
        }
        return number.doubleValue
    }

    private static func count(_ value: Any?, keyword: String, path: String) throws -> Int? {
        guard let value else { return nil }
        guard let number = value as? NSNumber, !JSONLiteral.isBoolean(number),
              let count = Int(exactly: number.doubleValue), count >= 0
        else {
            throw Invalid(reason: "'\(keyword)' at \(describe(path)) is not a non-negative integer")
        }
        return count
    }

    /// How messages name the schema at `path`.
    private static func describe(_ path: String) -> String {
        path.isEmpty ? "the top level" : "'\(path)'"
    }
}
