import ConfigValues
import Foundation
import SluiceCore

/// The admin API's bearer token, read from a file or an environment variable; never logged.
struct AdminToken {
    private let value: [UInt8]

    init(_ token: String) { value = Array(token.utf8) }

    /// The token an admin section names: `token_file` first, else `token_env` (which has a
    /// default, so it is always named). The rules are every secret's (`ConfigSecret`), except
    /// that the admin API never runs without a token.
    static func load(_ settings: AdminSettings, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AdminToken {
        let secret = settings.tokenFile.map { ConfigSecret(key: "token", file: $0) }
            ?? ConfigSecret(key: "token", environmentVariable: settings.tokenEnvironment)
        let needed = AdminTokenError("the admin API needs a bearer token: set \(settings.tokenEnvironment) or admin.token_file")
        do {
            guard let token = try secret.resolve(environment: environment) else {
                throw settings.tokenFile.map { AdminTokenError("the admin token file \($0) is empty") } ?? needed
            }
            return AdminToken(token)
        } catch let problem as ConfigProblem {
            throw settings.tokenFile == nil ? needed : AdminTokenError("admin." + problem.message)
        }
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
