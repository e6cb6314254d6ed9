import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Where a client's access key comes from: given once, or exchanged for a Kubernetes service
/// account's token (IAM Roles for Service Accounts, and every S3-compatible store with an STS
/// endpoint that accepts web identities).
public enum AWSCredentialSource: Sendable, CustomStringConvertible {
    case fixed(AWSCredentials)
    case webIdentity(WebIdentityRole)

    public var description: String {
        switch self {
        case .fixed(let credentials): return credentials.description
        case .webIdentity(let role): return role.description
        }
    }

    /// As the AWS SDKs look: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, then
    /// `AWS_ROLE_ARN` + `AWS_WEB_IDENTITY_TOKEN_FILE` (what EKS injects into a pod whose
    /// service account names a role), then the shared credentials file. Nil when none is set.
    public static func fromEnvironment(_ environment: [String: String], region: String) throws -> AWSCredentialSource? {
        if let id = environment["AWS_ACCESS_KEY_ID"], !id.isEmpty {
            return try AWSCredentials.fromEnvironment(environment).map(AWSCredentialSource.fixed)
        }
        if let role = try WebIdentityRole.fromEnvironment(environment, region: region) {
            return .webIdentity(role)
        }
        return try AWSCredentials.fromEnvironment(environment).map(AWSCredentialSource.fixed)
    }
}

/// A role assumed with a web identity token (`sts:AssumeRoleWithWebIdentity`). The token file
/// is read at every exchange, because the kubelet rotates it.
public struct WebIdentityRole: Sendable, CustomStringConvertible {
    public var roleARN: String
    public var tokenFile: String
    public var sessionName: String
    /// scheme://host[:port] of STS.
    public var stsEndpoint: String

    public init(roleARN: String, tokenFile: String, sessionName: String, stsEndpoint: String) {
        self.roleARN = roleARN
        self.tokenFile = tokenFile
        self.sessionName = sessionName
        self.stsEndpoint = stsEndpoint
    }

    public var description: String { "role \(roleARN) (web identity from \(tokenFile))" }

    /// `AWS_ROLE_ARN` and `AWS_WEB_IDENTITY_TOKEN_FILE` (both, or neither), with
    /// `AWS_ROLE_SESSION_NAME`; STS at `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`, else
    /// AWS's regional endpoint.
    static func fromEnvironment(_ environment: [String: String], region: String) throws -> WebIdentityRole? {
        let role = environment["AWS_ROLE_ARN"].flatMap { $0.isEmpty ? nil : $0 }
        let file = environment["AWS_WEB_IDENTITY_TOKEN_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        switch (role, file) {
        case (nil, nil): return nil
        case (nil, _): throw ObjectStoreError.configuration("AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not; name the role the service account may assume")
        case (_, nil): throw ObjectStoreError.configuration("AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not; mount the service account token (EKS does it for a service account annotated with eks.amazonaws.com/role-arn)")
        case let (role?, file?):
            var endpoint = environment["AWS_ENDPOINT_URL_STS"] ?? environment["AWS_ENDPOINT_URL"] ?? "https://sts.\(region).amazonaws.com"
            while endpoint.hasSuffix("/") { endpoint.removeLast() }
            let session = environment["AWS_ROLE_SESSION_NAME"].flatMap { $0.isEmpty ? nil : $0 } ?? "sluice-\(ProcessInfo.processInfo.processIdentifier)"
            return WebIdentityRole(roleARN: role, tokenFile: file, sessionName: session, stsEndpoint: endpoint)
        }
    }

    /// The form `AssumeRoleWithWebIdentity` takes (an unsigned POST: the token is the proof).
    func requestBody(token: String) -> String {
        let fields = [("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"), ("RoleArn", roleARN),
                      ("RoleSessionName", sessionName), ("WebIdentityToken", token)]
        return fields.map { "\($0.0)=\(SigV4Signer.uriEncode($0.1))" }.joined(separator: "&")
    }

    /// Reads the credentials and their expiry out of STS's answer.
    static func parse(_ xml: Substring, origin: String) throws -> (AWSCredentials, Date) {
        guard let section = S3XML.sections("Credentials", in: xml).first,
              let id = S3XML.value("AccessKeyId", in: section), let secret = S3XML.value("SecretAccessKey", in: section) else {
            throw ObjectStoreError.service(status: 200, code: "NoCredentials", message: "the STS answer holds no credentials")
        }
        let token = S3XML.value("SessionToken", in: section)
        let expiry = S3XML.value("Expiration", in: section).flatMap(S3XML.date) ?? Date().addingTimeInterval(900)
        return (AWSCredentials(accessKeyID: id, secretAccessKey: secret, sessionToken: token, origin: origin), expiry)
    }
}

/// The access key to sign the next request with: the fixed one, or the assumed role's, renewed
/// five minutes before it expires (or at half its life when that is shorter). Any thread.
final class CredentialCache: @unchecked Sendable {
    private let source: AWSCredentialSource
    private let lock = NSLock()
    private var current: (credentials: AWSCredentials, renewAt: Date)?

    init(source: AWSCredentialSource) {
        self.source = source
        if case .fixed(let credentials) = source { current = (credentials, .distantFuture) }
    }

    func credentials(http: HTTPClient, timeout: TimeAmount) throws -> AWSCredentials {
        lock.lock()
        defer { lock.unlock() }
        if let current, current.renewAt > Date() { return current.credentials }
        guard case .webIdentity(let role) = source else { return current!.credentials }
        do {
            let (credentials, expiry) = try assume(role, http: http, timeout: timeout)
            let life = expiry.timeIntervalSinceNow
            current = (credentials, Date().addingTimeInterval(max(1, min(life - 300, life / 2))))
            return credentials
        } catch {
            // An old key still valid for a while is better than none: keep signing with it.
            if let current { return current.credentials }
            throw error
        }
    }

    private func assume(_ role: WebIdentityRole, http: HTTPClient, timeout: TimeAmount) throws -> (AWSCredentials, Date) {
        let token: String
        do {
            token = try String(contentsOfFile: role.tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw ObjectStoreError.configuration("the web identity token file \(role.tokenFile) (AWS_WEB_IDENTITY_TOKEN_FILE) cannot be read: \(error.localizedDescription)")
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        let body = role.requestBody(token: token)
        let request: HTTPClient.Request
        do {
            request = try HTTPClient.Request(url: role.stsEndpoint + "/", method: .POST, headers: headers, body: .string(body))
        } catch {
            throw ObjectStoreError.configuration("the STS endpoint '\(role.stsEndpoint)' is not a valid URL")
        }
        let response: HTTPClient.Response
        do {
            response = try http.execute(request: request, deadline: .now() + timeout).wait()
        } catch {
            throw ObjectStoreError.unreachable("assuming \(role.roleARN): STS at \(role.stsEndpoint) unreachable (\(error))")
        }
        var buffer = response.body ?? ByteBuffer()
        let xml = Substring(buffer.readString(length: buffer.readableBytes) ?? "")
        guard response.status == .ok else {
            let code = S3XML.value("Code", in: xml) ?? "HTTP\(response.status.code)"
            let message = S3XML.value("Message", in: xml) ?? response.status.reasonPhrase
            let error = ObjectStoreError.service(status: Int(response.status.code), code: code,
                                                 message: "STS at \(role.stsEndpoint) refused the web identity of \(role.tokenFile) for \(role.roleARN): \(message)")
            if response.status.code >= 500 { throw error }
            throw ObjectStoreError.configuration(error.description)
        }
        return try WebIdentityRole.parse(xml, origin: "role \(role.roleARN) via web identity")
    }
}
