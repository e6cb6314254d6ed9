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

/// A swap under way, make before break. Its steps: the new sink is created and opened on a
/// preparation thread while the old one runs (a failure there refuses the swap with nothing
/// changed); the sink pauses at the next barrier (nothing after it reaches the old plugin);
/// that checkpoint completes; the sink thread closes the old plugin, which commits its last
/// epoch, and switches to the new one; data flows again.
struct SinkSwap {
    var request: SinkSwapRequest
    var setup: OperatorSetup
    var spec: OperatorSpec
    var plugin: LoadedPlugin
    var slot: SinkStateSlot
    var reply: (AdminResponse) -> Void
    /// The new sink, opened; nil while it is being prepared.
    var instance: PluginInstance?
    /// The barrier the sink paused at.
    var barrier: UInt64?
    var pausedAt: UInt64?
    var committedAt: UInt64?
    var sent = false
}

extension Worker {
    /// Checks the new sink completely before touching the running one: the block parses, the
    /// plugin loads (a fresh copy, so a rebuilt `.so` brings its new code), is a sink, and
    /// accepts its configuration.
    func requestSwap(_ request: SinkSwapRequest, reply: @escaping (AdminResponse) -> Void, now: UInt64) {
        guard swap == nil else { return reply(.error(.conflict, "a sink swap is already under way")) }
        let current = spec.sink
        let newSpec: OperatorSpec
        let plugin: LoadedPlugin
        do {
            newSpec = request.fromPipelineFile
                ? try PipelineLoader.load(path: request.file).sink
                : try PipelineLoader.parseOperator(yaml: request.yaml, file: request.file, plugin: request.plugin, role: .sink,
                                                   name: current.name, environment: ProcessInfo.processInfo.environment)
            guard newSpec.name == current.name else {
                return reply(.error(.badRequest, "the new sink must keep the operator name '\(current.name)'"))
            }
            let base = request.fromPipelineFile ? (request.file as NSString).deletingLastPathComponent : nil
            let (path, tried) = options.searchPath.resolve(newSpec.plugin, relativeTo: base.flatMap { $0.isEmpty ? "." : $0 })
            guard let path else {
                return reply(.error(.badRequest, "plugin '\(newSpec.plugin)' not found; tried \(tried.joined(separator: ", "))"))
            }
            plugin = try PluginLoader.load(path, freshCopy: true)
            try PluginLoader.checkKind(plugin, role: .sink, operatorName: newSpec.name, location: newSpec.pluginLocation)
            let problems = PipelinePlan.validateConfig(newSpec, plugin: plugin)
            guard problems.isEmpty else { return reply(.error(.badRequest, problems.joined(separator: "\n"))) }
        } catch {
            return reply(.error(.badRequest, "\(error)"))
        }
        let setup: OperatorSetup
        let slot = sinkSlot.other
        do {
            setup = OperatorSetup(index: sinkIndex, spec: newSpec, plugin: plugin,
                                  stateDirectory: try stateDirectory(newSpec, plugin, sinkSlot: slot), restore: nil)
        } catch {
            return reply(.error(.internalServerError, "\(error)"))
        }
        Log.info("swapping sink '\(current.name)' from \(plan.plugins[sinkIndex].name) to \(plugin.name) \(plugin.version) (\(plugin.originalPath)): opening the new sink beside the running one")
        swap = SinkSwap(request: request, setup: setup, spec: newSpec, plugin: plugin, slot: slot, reply: reply)
        status.update { $0.state = "swapping" }
        // Opening may take a while (connections, table checks): on its own thread, so the
        // pipeline runs on meanwhile.
        let (mailbox, hasDeadLetterOutput, mode, name) = (self.mailbox, spec.deadLetter != nil, spec.checkpointing.mode, spec.name)
        let thread = Thread {
            mailbox.post(.swapPrepared(Result {
                try OperatorThread.openInstance(setup, hasDeadLetterOutput: hasDeadLetterOutput, deliveryMode: mode,
                                                pipelineName: name, restoring: nil)
            }))
        }
        thread.name = "swap-prepare"
        thread.start()
    }

    /// The new sink is open (or failed to open): pause the old one at the next checkpoint.
    func swapPrepared(_ result: Result<PluginInstance, Error>, now: UInt64) {
        guard let pending = swap else {
            if case .success(let instance) = result { Self.closeInBackground(instance) }
            return
        }
        switch result {
        case .failure(let error):
            swap = nil
            status.update { $0.state = "running" }
            Log.error("the new sink failed to open (\(error)); nothing changed, the old sink goes on")
            pending.reply(.error(.unprocessableEntity, "the new sink failed to open: \(error); nothing changed, the old sink goes on"))
        case .success(let instance):
            swap?.instance = instance
            Log.info("the new sink is open; switching to it at the next checkpoint")
            operators[sinkIndex].inbox.send(.prepareSwap)
            perform(coordinator.handle(.trigger(.manual, now: now)))
        }
    }

    /// A prepared sink that will not be used: closed and destroyed off the coordinator thread.
    static func closeInBackground(_ instance: PluginInstance) {
        let thread = Thread {
            do { try instance.close() } catch { Log.warn("closing the unused new sink failed: \(error)") }
            instance.destroy()
        }
        thread.name = "swap-discard"
        thread.start()
    }

    /// The sink paused at barrier `id`; if that checkpoint already completed, swap now.
    func sinkPaused(at id: UInt64, time: UInt64) {
        guard swap != nil else { return }
        swap?.barrier = id
        swap?.pausedAt = time
        if id <= lastCompletedID { sendSwap() }
    }

    /// Sends the swap to the sink thread, right behind its notify-complete.
    func sendSwap() {
        guard let pending = swap, !pending.sent, let instance = pending.instance else { return }
        swap?.sent = true
        operators[sinkIndex].inbox.send(.swap(pending.setup, instance))
    }

    /// A checkpoint aborted: if the sink is paused on it, resume with the old sink and say so;
    /// if the sink has not paused yet, ask for another checkpoint.
    func swapCheckpointAborted(id: UInt64, reason: String) {
        guard let pending = swap else { return }
        if pending.barrier == id {
            operators[sinkIndex].inbox.send(.cancelSwap)
            if let instance = pending.instance { Self.closeInBackground(instance) }
            pending.reply(.error(.serviceUnavailable, "checkpoint \(id) was aborted (\(reason)); the sink was not swapped and the old one goes on"))
            swap = nil
            status.update { $0.state = "running" }
        } else if pending.barrier == nil {
            perform(coordinator.handle(.trigger(.manual, now: monotonicNanoseconds())))
        }
    }

    /// The sink thread switched to the new sink. Recorded before any checkpoint can hold the
    /// new sink's state (its acknowledgements queue behind this event): the slot of its state
    /// folder, and for an API swap the sink itself, so a restarted worker runs it.
    func sinkSwapped(at: UInt64) {
        guard let pending = swap else { return }
        swap = nil
        status.update { $0.state = "running" }
        do {
            try pending.slot.save(store: store)
            sinkSlot = pending.slot
        } catch {
            // Nothing the new sink staged is in a checkpoint yet: a restart resumes with the old
            // sink from the last checkpoint, which holds only committed epochs.
            outcomeOfActions = .failed("recording the sink swap failed (\(error)); restarting with the old sink")
            pending.reply(.error(.internalServerError, "recording the sink swap failed: \(error)"))
            return
        }
        let stallBeyondCommit = Double(at - (pending.committedAt ?? pending.pausedAt ?? at)) / 1e6
        let paused = Double(at - (pending.pausedAt ?? at)) / 1e6
        let old = plan.plugins[sinkIndex]
        plan = plan.replacingSink(pending.spec, plugin: pending.plugin)
        coordinator.replacePlugin(ofOperator: sinkIndex, with: pending.plugin.name)
        metrics.sinkSwapped()
        if pending.request.fromPipelineFile {
            SinkOverride.clear(store: store)
        } else {
            do {
                // The pipeline file's sink, for the record's validity check at the next start.
                let fileSink = (try? PipelineLoader.load(path: spec.file).sink) ?? spec.sink
                try SinkOverride.save(.init(yaml: pending.request.yaml, plugin: pending.request.plugin, file: pending.request.file,
                                            replacedPlugin: fileSink.plugin, replacedConfigJSON: fileSink.configJSON), store: store)
            } catch {
                Log.warn("could not record the swapped-in sink (\(error)); a restarted worker will run the pipeline file's sink")
            }
        }
        let summary: [String: Any] = ["checkpoint": pending.barrier ?? 0, "from": old.name, "to": pending.plugin.name,
                                      "plugin_path": pending.plugin.originalPath,
                                      "stall_ms_beyond_commit": stallBeyondCommit, "paused_ms": paused]
        status.update {
            $0.swaps += 1
            $0.lastSwap = summary
        }
        Log.info("sink swapped to \(pending.plugin.name) after checkpoint \(pending.barrier ?? 0): input paused \(String(format: "%.1f", paused)) ms, \(String(format: "%.1f", stallBeyondCommit)) ms of it after the commit")
        pending.reply(.json(.ok, summary))
    }
}
