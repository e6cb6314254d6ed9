import ArgumentParser
import Foundation
import SluiceCore

/// How the CLI finds a running pipeline's admin API: `--admin ADDRESS`, or the `admin:`
/// section of `--pipeline FILE`; the token from `--token-file`, the pipeline's token settings,
/// or SLUICE_ADMIN_TOKEN.
struct AdminOptions: ParsableArguments {
    @Option(name: .customLong("admin"), help: "The admin API's host:port (default: from --pipeline, else \(AdminSettings.defaultAddress)).")
    var address: String?
    @Option(name: .customLong("pipeline"), help: "A pipeline file whose admin section gives the address and token.")
    var pipeline: String?
    @Option(name: .customLong("token-file"), help: "A file with the bearer token (default: $\(AdminSettings.defaultTokenEnvironment)).")
    var tokenFile: String?

    func client() throws -> AdminClient {
        var settings = AdminSettings()
        if let pipeline {
            let spec: PipelineSpec
            do { spec = try PipelineLoader.load(path: pipeline) } catch {
                printError("\(error)")
                throw ExitCode(ExitStatus.configuration)
            }
            guard let admin = spec.admin else {
                printError("\(pipeline) has no admin section; give --admin ADDRESS")
                throw ExitCode.failure
            }
            settings = admin
        }
        if let address { settings.address = address }
        if let tokenFile { settings.tokenFile = tokenFile }
        guard let (host, port) = settings.hostAndPort else {
            printError("admin address '\(settings.address)' is not host:port")
            throw ExitCode.failure
        }
        do {
            let token = try AdminToken.load(settings)
            return AdminClient(baseURL: "http://\(host.contains(":") ? "[\(host)]" : host):\(port)", token: token.secret)
        } catch {
            printError("\(error)")
            throw ExitCode.failure
        }
    }
}

/// Runs an admin call, printing a failure as one clear line and exiting 1.
func adminCall<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let failure as AdminClient.Failure {
        printError(failure.description)
        throw ExitCode.failure
    }
}
