import Foundation
import NIOHTTP1
import SluiceCore

/// `sluice run --watch`, in the worker: edits of the pipeline file are checked and applied to
/// the running pipeline. A changed sink is swapped in place; any other change stops the worker
/// with a savepoint, and the supervisor runs `sluice run` again from it (`reloadSavepoint`);
/// a file that does not pass `sluice validate` is rejected and the pipeline goes on unchanged.
///
/// In the worker, not the supervisor, because the worker has what it takes (the running spec,
/// the swap, the stop with a savepoint) in its own process: the supervisor stays a small
/// process without the pipeline model, and no admin endpoint is needed for it.
///
/// The checks run on the watcher's queue, one at a time; `reloadSavepoint` from any thread.
// @unchecked Sendable: `running` is touched only on the watcher's queue, `reload` under `lock`.
final class PipelineWatch: @unchecked Sendable {
    private let file: String
    private let pluginPaths: [String]
    private let layout: PipelineLayout
    /// Hands a command to the worker's coordinator, as the admin API does.
    private let post: (AdminCommand) -> Void
    /// The spec the worker runs now.
    private var running: PipelineSpec
    private let lock = NSLock()
    private var reload: String?
    private var watcher: ConfigWatcher?

    init(file: String, running: PipelineSpec, pluginPaths: [String], layout: PipelineLayout, post: @escaping (AdminCommand) -> Void) {
        self.file = file
        self.running = running
        self.pluginPaths = pluginPaths
        self.layout = layout
        self.post = post
        watcher = ConfigWatcher(path: file) { [weak self] in self?.apply() }
        Log.info("watching \(file) for changes")
    }

    /// The savepoint of a stop for a reload, once asked for: the worker that finishes with it
    /// names it to the supervisor and exits with the reload status.
    var reloadSavepoint: String? {
        lock.withLock { reload }
    }

    /// Called by the watcher when the file's content changed.
    private func apply() {
        if reloadSavepoint != nil { return }  // stopping for a reload already: the next worker reads the file
        let changed: PipelineSpec
        do {
            changed = try PipelineFileCheck.check(file, pluginPaths: pluginPaths)
        } catch {
            Log.error("the changed pipeline file is rejected; the running pipeline goes on unchanged:\n\(error)")
            return
        }
        switch PipelineChange.between(running, changed) {
        case .nothing:
            Log.info("\(file) changed, but not in a way that matters to the running pipeline")
        case .sinkOnly:
            Log.info("only the sink changed in \(file): swapping it without a restart")
            let answer = ask { .swapSink(SinkSwapRequest(plugin: nil, yaml: "", file: file, fromPipelineFile: true), reply: $0) }
            if answer.status == .ok {
                running = changed
                Log.info("sink swapped to \(answer.fields["to"] ?? "?") after checkpoint \(answer.fields["checkpoint"] ?? "?")")
            } else {
                Log.error("the sink swap failed, the running pipeline goes on with its sink: \(answer.fields["error"] ?? "status \(answer.status.code)")")
            }
        case .restartNeeded(let parts):
            let lockDirectory = { (spec: PipelineSpec) in InstanceFolders.localDirectory(spec.checkpointing, pipeline: spec.name, layout: self.layout) }
            guard lockDirectory(running) == lockDirectory(changed) else {
                Log.error("\(file) moves the pipeline's local checkpoint directory (its name or checkpointing.directory changed), which the running supervisor holds locked; the running pipeline goes on unchanged: stop it and start `sluice run` again to move it")
                return
            }
            let name = "reload-" + savepointTimestamp()
            Log.info("\(parts.joined(separator: ", ")) changed in \(file): stopping the worker with savepoint '\(name)' and restarting it")
            lock.withLock { reload = name }
            let answer = ask { .stop(savepoint: name, reply: $0) }
            if answer.status != .ok {
                Log.error("stopping the worker for the reload failed (\(answer.fields["error"] ?? "status \(answer.status.code)")); the running pipeline goes on unchanged")
                lock.withLock { reload = nil }
            }
        }
    }

    /// Posts the command and waits for the coordinator's answer: the watcher's queue does
    /// nothing else meanwhile, so the next edit is compared with what then runs.
    private func ask(_ command: (@escaping (AdminResponse) -> Void) -> AdminCommand) -> (status: HTTPResponseStatus, fields: [String: Any]) {
        let answered = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var response: AdminResponse?
        post(command { reply in
            response = reply
            answered.signal()
        })
        answered.wait()
        let fields = response.flatMap { try? JSONSerialization.jsonObject(with: $0.body) as? [String: Any] } ?? [:]
        return (response?.status ?? .internalServerError, fields)
    }
}
