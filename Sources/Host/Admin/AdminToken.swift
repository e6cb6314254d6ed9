import Foundation
import SluiceCore

/// The admin API's bearer token, read from a file or an environment variable; never logged.
struct AdminToken {
    private let value: [UInt8]

    init(_ token: String) { value = Array(token.utf8) }

    /// The token an admin section names: `token_file` first, else `token_env`.
    static func load(_ settings: AdminSettings, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AdminToken {
        if let file = settings.tokenFile {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw AdminTokenError("cannot read the admin token file \(file); create it with the token on its first line")
            }
            let token = text.split(whereSeparator: \.isNewline).first.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? ""
            guard !token.isEmpty else { throw AdminTokenError("the admin token file \(file) is empty") }
            return AdminToken(token)
        }
        guard let token = environment[settings.tokenEnvironment], !token.isEmpty else {
            throw AdminTokenError("the admin API needs a bearer token: set \(settings.tokenEnvironment) or admin.token_file")
        }
        return AdminToken(token)
    }

    /// Checks an `Authorization: Bearer ...` header in constant time.
    func accepts(authorization: String?) -> Bool {
        guard let authorization, authorization.hasPrefix("Bearer ") else { return false }
        let offered = Array(authorization.dropFirst(7).utf8)
        var difference = UInt8(offered.count == value.count ? 0 : 1)
        for i in 0..<value.count { difference |= value[i] ^ (i < offered.count ? offered[i] : 0) }
        return difference == 0
    }

    /// The token itself, for a client that sends it.
    var secret: String { String(decoding: value, as: UTF8.self) }
}

struct AdminTokenError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
