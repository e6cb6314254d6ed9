import Foundation

/// An access key, from where the AWS SDKs look for one. Never printed: `description` shows the
/// key id and where it came from only.
public struct AWSCredentials: Sendable, CustomStringConvertible {
    public let accessKeyID: String
    public let secretAccessKey: String
    public let sessionToken: String?
    /// Where they came from, for messages: "environment", "~/.aws/credentials [default]".
    public let origin: String

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, origin: String = "configuration") {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.origin = origin
    }

    public var description: String { "access key \(accessKeyID) (from \(origin))" }

    /// The first of: `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` (with
    /// `AWS_SESSION_TOKEN`), then the shared credentials file (`AWS_SHARED_CREDENTIALS_FILE`,
    /// else ~/.aws/credentials) for profile `AWS_PROFILE` (else `default`). Nil when neither
    /// has them.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AWSCredentials? {
        if let id = environment["AWS_ACCESS_KEY_ID"], !id.isEmpty {
            guard let secret = environment["AWS_SECRET_ACCESS_KEY"], !secret.isEmpty else {
                throw ObjectStoreError.configuration("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
            }
            return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: environment["AWS_SESSION_TOKEN"].flatMap { $0.isEmpty ? nil : $0 },
                                  origin: "environment")
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        let file = environment["AWS_SHARED_CREDENTIALS_FILE"] ?? home + "/.aws/credentials"
        let profile = environment["AWS_PROFILE"] ?? "default"
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
            if environment["AWS_SHARED_CREDENTIALS_FILE"] != nil {
                throw ObjectStoreError.configuration("AWS_SHARED_CREDENTIALS_FILE \(file) cannot be read")
            }
            return nil
        }
        guard let section = iniSections(text)[profile] else {
            if environment["AWS_PROFILE"] != nil {
                throw ObjectStoreError.configuration("profile '\(profile)' (AWS_PROFILE) is not in \(file)")
            }
            return nil
        }
        guard let id = section["aws_access_key_id"], let secret = section["aws_secret_access_key"] else {
            throw ObjectStoreError.configuration("profile '\(profile)' in \(file) lacks aws_access_key_id or aws_secret_access_key")
        }
        return AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: section["aws_session_token"], origin: "\(file) [\(profile)]")
    }

    /// `[name]` sections of an INI file, keys lowercased, values trimmed.
    static func iniSections(_ text: String) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current: String?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                var name = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                if name.hasPrefix("profile ") { name = String(name.dropFirst("profile ".count)) }
                current = name
                sections[name, default: [:]] = sections[name] ?? [:]
                continue
            }
            guard let current, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            sections[current]![key] = value
        }
        return sections
    }
}
