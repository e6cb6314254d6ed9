/// Checks an operator's config against the JSON Schema its plugin publishes, before the plugin
/// ever sees it, so config mistakes are reported with file, line and column.
public enum ConfigSchemaValidator {
    /// Every way `config` breaks `schemaJSON` (see `ConfigSchema` for the keywords supported).
    /// Messages start with `operatorName` (pass `OperatorSpec.label`, e.g. "sink 'out'") and
    /// never show values under keys that look like secrets. A schema that cannot be parsed
    /// gives a single error, at the config block.
    public static func validate(_ config: ConfigValue, schemaJSON: String, operatorName: String) -> [PipelineError] {
        let schema: ConfigSchema
        do {
            schema = try ConfigSchema(jsonText: schemaJSON)
        } catch {
            let reason = (error as? ConfigSchema.Invalid)?.reason ?? "\(error)"
            return [PipelineError(
                location: config.location,
                message: "\(operatorName): the plugin's config schema is invalid (\(reason)); "
                    + "the plugin needs fixing, not the pipeline file"
            )]
        }
        var validation = Validation(operatorName: operatorName)
        validation.check(config, against: schema, path: Path())
        return validation.errors
    }

    /// Why `schemaJSON` is not a schema this host can check configurations against, or nil
    /// when it is (`sluice plugins check`).
    public static func schemaProblem(_ schemaJSON: String) -> String? {
        do {
            _ = try ConfigSchema(jsonText: schemaJSON)
            return nil
        } catch {
            return (error as? ConfigSchema.Invalid)?.reason ?? "\(error)"
        }
    }
}

// MARK: - Validation run

extension ConfigSchemaValidator {
    /// Where a value sits in the config, for messages and for deciding what is secret.
    struct Path {
        /// Keys and indices from the config root, e.g. `columns[2].type`.
        var text = ""
        /// Whether any key on the way looks like a secret: everything under it is hidden too.
        var isSecret = false

        /// The path of the member `key` of the value here.
        func appending(key: String) -> Path {
            Path(text: text.isEmpty ? key : "\(text).\(key)", isSecret: isSecret || SecretRedaction.isSecretKey(key))
        }

        /// The path of element `index` of the value here.
        func appending(index: Int) -> Path {
            Path(text: "\(text)[\(index)]", isSecret: isSecret)
        }

        /// How messages name the value: `'columns[2].type'`, or "config" at the root.
        var subject: String { text.isEmpty ? "config" : "'\(text)'" }
    }

    /// One validation pass, collecting errors.
    struct Validation {
        let operatorName: String
        private(set) var errors: [PipelineError] = []

        init(operatorName: String) {
            self.operatorName = operatorName
        }

        /// Checks `value` at `path` against `schema` and, recursively, its members.
        mutating func check(_ value: ConfigValue, against schema: ConfigSchema, path: Path) {
            if schema.rejectsEverything {
                report("\(path.subject) is not allowed here", at: value.location)
                return
            }
            if let types = schema.types, !types.contains(where: { Self.value(value, hasType: $0) }) {
                // Other keywords would only repeat the same mistake in other words.
                report("\(path.subject) must be \(types.joined(separator: " or ")), got \(value.schemaTypeName)",
                       at: value.location)
                return
            }
            if let allowed = schema.enumValues, !allowed.contains(JSONLiteral(value)) {
                let choices = allowed.map(\.description).joined(separator: ", ")
                report("\(path.subject) must be one of \(choices)\(got(value, path))", at: value.location)
            }
            switch value {
            case let .int(int, _):
                checkBounds(Double(int), of: value, against: schema, path: path)
            case let .double(double, _):
                checkBounds(double, of: value, against: schema, path: path)
            case let .string(string, _):
                if let minLength = schema.minLength, string.unicodeScalars.count < minLength {
                    report("\(path.subject) must be at least \(minLength) characters long", at: value.location)
                }
            case let .array(elements, _):
                guard let items = schema.items else { break }
                for (index, element) in elements.enumerated() {
                    check(element, against: items, path: path.appending(index: index))
                }
            case let .object(entries, location):
                checkObject(entries, at: location, against: schema, path: path)
            case .null, .bool:
                break
            }
        }

        // MARK: - Keywords

        /// `minimum` and `maximum`, inclusive.
        private mutating func checkBounds(
            _ number: Double, of value: ConfigValue, against schema: ConfigSchema, path: Path
        ) {
            if let minimum = schema.minimum, number < minimum {
                report("\(path.subject) must be >= \(JSONLiteral.number(minimum))\(got(value, path))", at: value.location)
            }
            if let maximum = schema.maximum, number > maximum {
                report("\(path.subject) must be <= \(JSONLiteral.number(maximum))\(got(value, path))", at: value.location)
            }
        }

        /// `required`, `properties` and `additionalProperties`.
        private mutating func checkObject(
            _ entries: [ConfigValue.ObjectEntry],
            at location: SourceLocation, against schema: ConfigSchema, path: Path
        ) {
            let context = path.text.isEmpty ? "" : "in '\(path.text)'"
            for key in schema.required where !entries.contains(where: { $0.key == key }) {
                report("missing required key '\(key)'" + (context.isEmpty ? "" : " \(context)"), at: location)
            }
            for entry in entries {
                let memberPath = path.appending(key: entry.key)
                if let property = schema.properties[entry.key] {
                    check(entry.value, against: property, path: memberPath)
                    continue
                }
                switch schema.additionalProperties {
                case .allowed:
                    break
                case .forbidden:
                    report(KeySuggestion.unknownKeyMessage(entry.key, context: context,
                                                           knownKeys: schema.properties.keys.sorted()),
                           at: entry.keyLocation)
                case let .matching(additional):
                    check(entry.value, against: additional, path: memberPath)
                }
            }
        }

        // MARK: - Helpers

        /// Whether `value` is of the JSON Schema type `type`.
        private static func value(_ value: ConfigValue, hasType type: String) -> Bool {
            switch (value, type) {
            case (.object, "object"), (.array, "array"), (.string, "string"), (.bool, "boolean"),
                 (.null, "null"), (.int, "integer"), (.int, "number"), (.double, "number"):
                return true
            default:
                return false
            }
        }

        /// ", got VALUE", or nothing for a secret: a bound or choice the user missed is fine to
        /// show, the value they typed may be a password.
        private func got(_ value: ConfigValue, _ path: Path) -> String {
            path.isSecret ? "" : ", got \(value.messageDescription(isSecret: false))"
        }

        private mutating func report(_ message: String, at location: SourceLocation) {
            errors.append(PipelineError(location: location, message: "\(operatorName): \(message)"))
        }
    }
}
