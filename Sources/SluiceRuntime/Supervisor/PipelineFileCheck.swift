import Foundation
import SluiceCore

/// Checks a pipeline file the way `sluice validate` does (YAML, plugins, every plugin's
/// configuration, schemas) in a child process, and reads the file's spec in this one.
///
/// Why a child: checking loads every plugin (`dlopen`), and a plugin can neither be unloaded
/// nor be trusted not to leave threads or memory behind. The supervisor lives as long as the
/// pipeline and only needs the spec (restart policy, checkpoint folders, what changed), so it
/// keeps no plugin mapped: about 14 MB less resident memory for the sensors pipeline, and a
/// plugin that crashes while its configuration is checked takes down the check, not the
/// supervisor.
///
/// Any thread.
enum PipelineFileCheck {
    struct Rejected: Error, CustomStringConvertible {
        /// The check's exit status: 78 (EX_CONFIG) for a wrong file.
        let status: Int32
        /// What the check printed on its standard error: every problem found.
        let description: String
    }

    /// The spec of `file` once `sluice validate` accepted it; throws `Rejected` otherwise.
    static func check(_ file: String, pluginPaths: [String]) throws -> PipelineSpec {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        process.arguments = ["validate", file] + pluginPaths.flatMap { ["--plugin-path", $0] }
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        do { try process.run() } catch {
            throw Rejected(status: ExitStatus.configuration, description: "cannot start `sluice validate` to check \(file): \(error)")
        }
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let how = process.terminationReason == .exit ? "" : "checking \(file) was killed by signal \(process.terminationStatus) (a plugin crashed while loading or validating)\n"
            let status = process.terminationReason == .exit ? process.terminationStatus : ExitStatus.configuration
            throw Rejected(status: status, description: how + text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        // The child read the same file a moment ago; reading it here again is what the
        // supervisor runs with (a file edited in between is checked again by the watcher).
        do {
            return try PipelineLoader.load(path: file)
        } catch {
            throw Rejected(status: ExitStatus.configuration, description: "\(error)")
        }
    }
}
