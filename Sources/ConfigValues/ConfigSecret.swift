import Foundation

/// A secret a configuration gives in one of three ways, under one key name: `<key>` (the value
/// itself, in the file), `<key>_env` (an environment variable holding it) or `<key>_file` (a
/// file holding it, such as a mounted Kubernetes secret). The rules are the same for every key
/// of every plugin:
///
/// - at most one of the three;
/// - `<key>_env` names a variable that is set; its value is used as it is;
/// - `<key>_file` names a readable file; its content is used without the line breaks at its end;
/// - an empty secret is the same as none, so `password: "${PASSWORD:-}"` makes one optional;
/// - the value is never printed: messages name where it comes from, never what it is.
public struct ConfigSecret: Hashable, Sendable {
    /// The key's name without suffix, e.g. "password" or "token".
    public let key: String
    public let value: String?
    public let environmentVariable: String?
    public let file: String?

    public init(key: String, value: String? = nil, environmentVariable: String? = nil, file: String? = nil) {
        self.key = key
        self.value = value
        self.environmentVariable = environmentVariable
        self.file = file
    }

    public var isGiven: Bool { value != nil || environmentVariable != nil || file != nil }

    /// Where the secret comes from, for messages: "password_env (CH_PASSWORD)".
    public var origin: String {
        if let environmentVariable { return "\(key)_env ($\(environmentVariable))" }
        if let file { return "\(key)_file (\(file))" }
        return key
    }

    /// Every problem `resolve` would report, without keeping the secret: for `validate`.
    public func problems(environment: [String: String] = ProcessInfo.processInfo.environment) -> [ConfigProblem] {
        do {
            _ = try resolve(environment: environment)
            return []
        } catch let problem as ConfigProblem {
            return [problem]
        } catch {
            return [ConfigProblem("\(error)", configPath: "/" + key)]
        }
    }

    /// The secret's value; nil when none of the three keys is given or the secret is empty.
    public func resolve(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        let given = [value.map { _ in key }, environmentVariable.map { _ in key + "_env" }, file.map { _ in key + "_file" }].compactMap { $0 }
        if given.count > 1 {
            throw ConfigProblem("give at most one of \(key), \(key)_env and \(key)_file (found \(given.joined(separator: " and ")))", configPath: "/" + given[1])
        }
        let resolved: String
        if let value {
            resolved = value
        } else if let name = environmentVariable {
            let path = "/\(key)_env"
            guard !name.isEmpty else { throw ConfigProblem("\(key)_env must name an environment variable", configPath: path) }
            guard let fromEnvironment = environment[name] else {
                throw ConfigProblem("\(key)_env names the environment variable \(name), which is not set", configPath: path)
            }
            resolved = fromEnvironment
        } else if let file {
            let path = "/\(key)_file"
            guard let data = FileManager.default.contents(atPath: file) else {
                let reason = FileManager.default.fileExists(atPath: file) ? "is not readable" : "does not exist"
                throw ConfigProblem("\(key)_file '\(file)' \(reason)", configPath: path)
            }
            var text = String(decoding: data, as: UTF8.self)
            while let last = text.unicodeScalars.last, last == "\n" || last == "\r" { text.unicodeScalars.removeLast() }
            resolved = text
        } else {
            return nil
        }
        return resolved.isEmpty ? nil : resolved
    }
}

/// A configuration value that is wrong, with the JSON Pointer of the key at fault (e.g.
/// "/password_env"), so the host can name the YAML line and column.
public struct ConfigProblem: Error, Hashable, Sendable, CustomStringConvertible {
    public let message: String
    public let configPath: String?

    public init(_ message: String, configPath: String?) {
        self.message = message
        self.configPath = configPath
    }

    public var description: String { message }
}

extension KeyedDecodingContainer {
    /// The secret `<key>` given under any of its three coding keys (the value, `<key>_env`,
    /// `<key>_file`); which of them may be given together is `ConfigSecret`'s rule, checked later.
    public func decodeSecret(named key: String, value: Key, environmentVariable: Key, file: Key) throws -> ConfigSecret {
        ConfigSecret(key: key, value: try decodeIfPresent(String.self, forKey: value),
                     environmentVariable: try decodeIfPresent(String.self, forKey: environmentVariable),
                     file: try decodeIfPresent(String.self, forKey: file))
    }
}
