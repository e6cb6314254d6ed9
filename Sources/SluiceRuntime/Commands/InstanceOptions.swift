import ArgumentParser
import Foundation
import SluiceCore

/// `--instance I/N` and its environment equivalents, for `run` and `worker`.
struct InstanceOptions: ParsableArguments {
    @Option(name: .customLong("instance"), help: ArgumentHelp(
        "Run as instance I of N (counted from 0): this process runs lanes I*P..I*P+P-1 of the pipeline's N*P, P being its parallelism, and checkpoints into instance-I under checkpointing.directory.",
        discussion: "Without the flag: SLUICE_INSTANCE=I/N, else a StatefulSet pod name NAME-I (SLUICE_POD_NAME, else HOSTNAME) with SLUICE_INSTANCES=N; else instance 0 of 1.",
        valueName: "I/N"))
    var instance: String?

    /// Instance and instance count; a bad value is a configuration error.
    func resolve() throws -> (instance: Int, instances: Int) {
        do {
            return try InstanceIdentity.resolve(flag: instance, environment: ProcessInfo.processInfo.environment)
        } catch {
            printError("\(error)")
            throw ExitCode(ExitStatus.configuration)
        }
    }
}
