import Foundation

/// Recognising config keys that hold secrets, so their values never reach logs or messages.
public enum SecretRedaction {
    /// What a secret value is replaced with.
    static let mask = "***"

    /// Words that mark a key as secret when the key ends with them, in any case and with any
    /// prefix: "password", "clickhouse_password", "ClickhousePassword", "access-token".
    private static let secretSuffixes = [
        "password", "passwd", "token", "secret", "api_key", "apikey",
        "credential", "credentials", "private_key", "privatekey",
    ]

    /// Whether values under `key` must be hidden. Matching is deliberately generous: hiding a
    /// harmless value costs a little clarity, printing a password costs a credential.
    public static func isSecretKey(_ key: String) -> Bool {
        // "-" and "_" are interchangeable so "api-key" matches like "api_key".
        let normalized = key.lowercased().replacingOccurrences(of: "-", with: "_")
        return secretSuffixes.contains { normalized.hasSuffix($0) }
    }

    /// `value` as compact JSON (like `OperatorSpec.configJSON`) with the value of every secret
    /// key, at any depth and of any type, replaced by `"***"`: safe to log.
    public static func redactedJSON(_ value: ConfigValue) -> String {
        value.jsonText(redactingSecrets: true)
    }
}
