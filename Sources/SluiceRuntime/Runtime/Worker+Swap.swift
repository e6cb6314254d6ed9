import CProcessControl
import Foundation
import SluiceCore

/// A request to replace the main sink.
struct SinkSwapRequest {
    /// A plugin name or path; nil when `yaml` is a whole block naming it.
    var plugin: String?
    /// The new sink's YAML: its configuration mapping, or a whole block.
    var yaml: String
    /// Names the YAML in error messages; with `fromPipelineFile`, the pipeline file to read.
    var file: String
    /// Take the sink of the pipeline file `file` (a `--watch` reload); no override is recorded.
    var fromPipelineFile: Bool
}

/// The sink a swap opens beside the running one (make before break). The steps, decided by
/// `WorkerStateMachine`: the new sink is checked, then created and opened on a preparation
/// thread while the old one runs (a failure there refuses the swap with nothing changed); the
/// sink pauses at the next barrier (nothing after it reaches the old plugin); that checkpoint
/// completes; the sink thread closes the old plugin, which commits its last epoch, and switches
/// to the new one; data flows again.
struct NewSink {
    var request: SinkSwapRequest
    var setup: OperatorSetup
    var plugin: LoadedPlugin
    var slot: SinkStateSlot
    /// The new sink, opened; nil while it is being prepared.
    var instance: PluginInstance?
}

extension Worker {
    /// Checks the new sink completely before touching the running one: the block parses, the
    /// plugin loads (a fresh copy, so a rebuilt `.so` brings its new code), is a sink, and
    /// accepts its configuration. Then opens it on a thread of its own.
    func validateSwap(_ id: WorkerStateMachine.RequestID) {
        guard let request = swapRequests.removeValue(forKey: id) else { return }
        let current = spec.sink
        let newSpec: OperatorSpec
        let plugin: LoadedPlugin
        do {
            newSpec = request.fromPipelineFile
                ? try PipelineLoader.load(path: request.file).sink
                : try PipelineLoader.parseOperator(yaml: request.yaml, file: request.file, plugin: request.plugin, role: .sink,
                                                   name: current.name, environment: ProcessInfo.processInfo.environment)
            guard newSpec.name == current.name else {
                return apply(.swapRejected(.badRequest, "the new sink must keep the operator name '\(current.name)'"))
            }
            let base = request.fromPipelineFile ? (request.file as NSString).deletingLastPathComponent : nil
            let (path, tried) = options.searchPath.resolve(newSpec.plugin, relativeTo: base.flatMap { $0.isEmpty ? "." : $0 })
            guard let path else {
                return apply(.swapRejected(.badRequest, "plugin '\(newSpec.plugin)' not found; tried \(tried.joined(separator: ", "))"))
            }
            plugin = try PluginLoader.load(path, freshCopy: true)
            try PluginLoader.checkKind(plugin, role: .sink, operatorName: newSpec.name, location: newSpec.pluginLocation)
            let problems = PipelinePlan.validateConfig(newSpec, plugin: plugin)
            guard problems.isEmpty else { return apply(.swapRejected(.badRequest, problems.joined(separator: "\n"))) }
        } catch {
            return apply(.swapRejected(.badRequest, "\(error)"))
        }
        let slot = sinkSlot.other
        let setup: OperatorSetup
        do {
            let folder = operatorFolder(newSpec, plugin, lane: 0, sinkSlot: slot)
            setup = OperatorSetup(index: topology.sink, spec: newSpec, plugin: plugin,
                                  stateDirectory: try store.operatorStateDirectory(for: folder),
                                  openStaging: { [store] in try store.stagingArea(for: folder) }, restore: [])
        } catch {
            return apply(.swapRejected(.unprocessable, "\(error)"))
        }
        Log.info("swapping sink '\(current.name)' from \(plan.plugins[topology.sink].name) to \(plugin.name) \(plugin.version) (\(plugin.originalPath)): opening the new sink beside the running one")
        newSink = NewSink(request: request, setup: setup, plugin: plugin, slot: slot)
        apply(.swapAccepted)
        // Opening may take a while (connections, table checks): on its own thread, so the
        // pipeline runs on meanwhile.
        let (mailbox, hasDeadLetterOutput, mode, name) = (self.mailbox, spec.deadLetter != nil, spec.checkpointing.mode, spec.name)
        let thread = Thread {
            // Foundation's `Thread.name` does not reach the kernel on Linux (`top -H`, `perf`).
            _ = sluice_set_thread_name("swap-prepare")
            mailbox.post(.swapPrepared(Result {
                try OperatorThread.openInstance(setup, hasDeadLetterOutput: hasDeadLetterOutput, deliveryMode: mode,
                                                pipelineName: name, restoring: [])
            }))
        }
        thread.name = "swap-prepare"
        thread.start()
    }

    /// A prepared sink that will not be used: closed and destroyed off the coordinator thread.
    static func closeInBackground(_ instance: PluginInstance) {
        let thread = Thread {
            _ = sluice_set_thread_name("swap-discard")
            do { try instance.close() } catch { Log.warn("closing the unused new sink failed: \(error)") }
            instance.destroy()
        }
        thread.name = "swap-discard"
        thread.start()
    }

    /// The sink thread switched to the new sink. Recorded before any checkpoint can hold the
    /// new sink's state (its acknowledgements queue behind this event): the slot of its state
    /// folder, and for an API swap the sink itself, so a restarted worker runs it.
    func recordSwap(_ id: WorkerStateMachine.RequestID, _ timing: WorkerStateMachine.SwapTiming) {
        guard let done = newSink else { return }
        newSink = nil
        let reply = replies.removeValue(forKey: id)
        do {
            try done.slot.save(store: store)
            sinkSlot = done.slot
        } catch {
            reply?(.error(.internalServerError, "recording the sink swap failed: \(error)"))
            return apply(.swapRecordFailed("\(error)"))
        }
        let old = plan.plugins[topology.sink]
        plan = plan.replacingSink(done.setup.spec, plugin: done.plugin)
        metrics.sinkSwapped()
        if done.request.fromPipelineFile {
            SinkOverride.clear(store: store)
        } else {
            do {
                // The pipeline file's sink, for the record's validity check at the next start.
                let fileSink = (try? PipelineLoader.load(path: spec.file).sink) ?? spec.sink
                try SinkOverride.save(.init(yaml: done.request.yaml, plugin: done.request.plugin, file: done.request.file,
                                            replacedPlugin: fileSink.plugin, replacedConfigJSON: fileSink.configJSON), store: store)
            } catch {
                Log.warn("could not record the swapped-in sink (\(error)); a restarted worker will run the pipeline file's sink")
            }
        }
        let paused = Double(timing.pausedNanoseconds) / 1e6
        let stallBeyondCommit = Double(timing.stallBeyondCommitNanoseconds) / 1e6
        let summary: [String: Any] = ["checkpoint": timing.barrier.rawValue, "from": old.name, "to": done.plugin.name,
                                      "plugin_path": done.plugin.originalPath,
                                      "stall_ms_beyond_commit": stallBeyondCommit, "paused_ms": paused]
        status.update {
            $0.swaps += 1
            $0.lastSwap = summary
        }
        Log.info("sink swapped to \(done.plugin.name) after checkpoint \(timing.barrier): input paused \(String(format: "%.1f", paused)) ms, \(String(format: "%.1f", stallBeyondCommit)) ms of it after the commit")
        reply?(.json(.ok, summary))
        apply(.swapRecorded(plugin: done.plugin.name))
    }
}
