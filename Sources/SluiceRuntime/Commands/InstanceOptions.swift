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

    /// This process's layout for `spec`; a bad identity is a configuration error.
    func layout(of spec: PipelineSpec) throws -> PipelineLayout {
        do {
            let (index, count) = try InstanceIdentity.resolve(flag: instance, environment: ProcessInfo.processInfo.environment)
            return PipelineLayout(instance: index, instances: count, parallelism: spec.parallelism)
        } catch {
            printError("\(error)")
            throw ExitCode(ExitStatus.configuration)
        }
    }
}
