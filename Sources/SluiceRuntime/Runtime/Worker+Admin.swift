import Foundation
import NIOHTTP1
import SluiceCore

/// What the admin API asks of the coordinator thread.
enum AdminCommand {
    case checkpoint(reply: (AdminResponse) -> Void)
    case savepoint(name: String, reply: (AdminResponse) -> Void)
    case swapSink(SinkSwapRequest, reply: (AdminResponse) -> Void)
    /// Stop gracefully; with a name, the final checkpoint is kept as that savepoint.
    case stop(savepoint: String?, reply: (AdminResponse) -> Void)

    var reply: (AdminResponse) -> Void {
        switch self {
        case .checkpoint(let r), .savepoint(_, let r), .swapSink(_, let r), .stop(_, let r): return r
        }
    }
}

/// The admin API: routes, authentication, and the commands that need the coordinator.
extension Worker {
    func startAdmin() throws {
        guard let settings = spec.admin ?? options.adminAddress.map({ AdminSettings(address: $0) }) else { return }
        var effective = settings
        if let address = options.adminAddress { effective.address = address }
        guard let (host, port) = effective.hostAndPort else {
            throw PlanError(messages: ["admin address '\(effective.address)' is not host:port"])
        }
        let token = try AdminToken.load(effective)
        let server = AdminHTTPServer()
        let bound = try server.start(host: host, port: port) { [weak self] request, reply in
            guard let self else { return reply(.error(.serviceUnavailable, "the pipeline is stopping")) }
            self.route(request, token: token, reply: reply)
        }
        admin = server
        Log.info("admin API listening on http://\(host):\(bound) (bearer token from \(effective.tokenFile ?? "$" + effective.tokenEnvironment))")
    }

    /// Runs on the admin server's thread: answers read-only requests at once and hands the
    /// rest to the coordinator thread through the mailbox.
    private func route(_ request: AdminRequest, token: AdminToken, reply: @escaping (AdminResponse) -> Void) {
        // Probes and the metrics scrape answer without the token: Kubernetes probes and
        // Prometheus' annotation-based scraping cannot send one, and these reveal no secret and
        // no data, only health and counts.
        switch (request.method, request.path) {
        case (.GET, "/healthz"):
            return reply(.text(.ok, "ok\n"))
        case (.GET, "/readyz"):
            let ready = status.current.state == "running"
            return reply(.json(ready ? .ok : .serviceUnavailable, ["ready": ready, "state": status.current.state]))
        case (.GET, "/metrics"):
            return reply(.text(.ok, metrics.render(operators: operators) + commitLatency.prometheusText(pipeline: spec.name), contentType: "text/plain; version=0.0.4; charset=utf-8"))
        default:
            break
        }
        guard token.accepts(authorization: request.headers.first(name: "Authorization")) else {
            return reply(.error(.unauthorized, "missing or wrong bearer token"))
        }
        switch (request.method, request.path) {
        case (.GET, "/status"):
            reply(.json(.ok, statusDocument()))
        case (.GET, "/checkpoints"):
            do {
                reply(.json(.ok, ["checkpoints": try store.entries().map(Worker.describe)]))
            } catch {
                reply(.error(.serviceUnavailable, "\(error)"))
            }
        case (.POST, "/checkpoints"):
            mailbox.post(.admin(.checkpoint(reply: reply)))
        case (.POST, "/savepoints"):
            guard let name = jsonBody(request)?["name"] as? String, !name.isEmpty else {
                return reply(.error(.badRequest, "send {\"name\": \"...\"}"))
            }
            mailbox.post(.admin(.savepoint(name: name, reply: reply)))
        case (.POST, "/sink"):
            if let file = jsonBody(request)?["pipeline_file"] as? String {
                let swap = SinkSwapRequest(plugin: nil, yaml: "", file: file, fromPipelineFile: true)
                return mailbox.post(.admin(.swapSink(swap, reply: reply)))
            }
            guard let body = jsonBody(request), let yaml = body["config_yaml"] as? String else {
                return reply(.error(.badRequest, "send {\"plugin\": \"name or path\", \"config_yaml\": \"...\", \"file\": \"name for messages\"}"))
            }
            let swap = SinkSwapRequest(plugin: body["plugin"] as? String, yaml: yaml,
                                       file: body["file"] as? String ?? "swap-sink request", fromPipelineFile: false)
            mailbox.post(.admin(.swapSink(swap, reply: reply)))
        case (.POST, "/stop"):
            mailbox.post(.admin(.stop(savepoint: jsonBody(request)?["savepoint"] as? String, reply: reply)))
        default:
            reply(.error(.notFound, "no such endpoint: \(request.method) \(request.path); see GET /status, /metrics, /checkpoints; POST /checkpoints, /savepoints, /sink, /stop"))
        }
    }

    private func jsonBody(_ request: AdminRequest) -> [String: Any]? {
        guard !request.body.isEmpty else { return [:] }
        return try? JSONSerialization.jsonObject(with: request.body) as? [String: Any]
    }

    // MARK: - Commands (coordinator thread)

    /// Hands an admin command to the machine under a new request id; the machine answers it
    /// through `reply` actions.
    func handle(_ command: AdminCommand, now: UInt64) {
        let request = nextRequestID
        nextRequestID += 1
        replies[request] = command.reply
        switch command {
        case .checkpoint:
            apply(.checkpointRequested(request, now: now))
        case .savepoint(let name, _):
            let exists = (try? store.savepoint(named: name)) != nil
            apply(.savepointRequested(request, name: name, alreadyExists: exists, now: now))
        case .swapSink(let swap, _):
            swapRequests[request] = swap
            apply(.swapRequested(request))
            // Refused at once (a swap under way, a stop): the request is not kept.
            if replies[request] == nil { swapRequests[request] = nil }
        case .stop(let name, _):
            if let name {
                // Refused before the stop starts: a final savepoint that cannot be written
                // would leave the pipeline stopping with nothing to show for it.
                if let problem = SafeName.problem(name, describing: "savepoint") {
                    return replies.removeValue(forKey: request)?(.error(.badRequest, problem)) ?? ()
                }
                if (try? store.savepoint(named: name)) != nil {
                    return replies.removeValue(forKey: request)?(.error(.conflict, "savepoint '\(name)' already exists; pick another name")) ?? ()
                }
            }
            apply(.stopRequested(request, savepoint: name, now: now))
        }
    }

    /// The HTTP answer to a machine's reply.
    func response(for reply: WorkerStateMachine.Reply) -> AdminResponse {
        switch reply {
        case .checkpointCompleted(let completed):
            let path = store.locate(completed.trigger.savepointName.map { "savepoints/\($0).ckpt" } ?? "checkpoints")
            return .json(.ok, ["id": completed.id.rawValue, "duration_ms": Double(completed.durationNanoseconds) / 1e6,
                               "size_bytes": completed.stateBytes, "path": path])
        case .refused(let refusal, let message):
            let status: HTTPResponseStatus
            switch refusal {
            case .badRequest: status = .badRequest
            case .conflict: status = .conflict
            case .unavailable: status = .serviceUnavailable
            case .unprocessable: status = .unprocessableEntity
            }
            return .error(status, message)
        }
    }

    // MARK: - Status

    /// The `/status` document; any thread.
    func statusDocument() -> [String: Any] {
        let values = status.current
        let ops: [[String: Any]] = operators.map { op in
            let c = op.counters
            var entry: [String: Any] = ["name": op.setup.spec.name, "lane": op.setup.lane.index, "plugin": op.setup.plugin.name, "version": op.setup.plugin.version,
                                        "role": "\(op.role)", "records_in": c.rowsIn, "records_out": c.rowsOut, "dead_letters": c.deadLetters,
                                        "queue_depth": op.inbox.depth, "status": op.pluginStatus ?? NSNull()]
            if op.role == .source {
                // null until the source reports it (a source without report_lag never does).
                let lag = op.pluginLag
                entry["lag"] = lag.isEmpty ? NSNull() : Int(lag.values.reduce(0, +))
                entry["lag_by_partition"] = lag.mapValues { Int($0) }
            }
            return entry
        }
        var document: [String: Any] = [
            "pipeline": spec.name, "state": values.state, "worker_pid": Int(getpid()), "restarts": options.restarts,
            "uptime_seconds": Date().timeIntervalSince(status.startedAt), "operators": ops,
            "checkpoints_completed": values.checkpointsCompleted, "checkpoints_aborted": values.checkpointsAborted,
            "rows_committed": values.rowsCommitted, "dead_letters_committed": values.deadLettersCommitted,
            "sink_swaps": values.swaps,
            "instance": layout.instance, "instances": layout.instances, "parallelism": layout.parallelism,
            "lanes": Array(layout.lanes),
        ]
        // The pipeline's lag: every source lane's, added up.
        let lags = ops.compactMap { $0["lag"] as? Int }
        document["lag"] = lags.isEmpty ? NSNull() : lags.reduce(0, +)
        document["last_checkpoint"] = values.lastCheckpoint ?? NSNull()
        document["last_swap"] = values.lastSwap ?? NSNull()
        return document
    }

    static func describe(_ entry: CheckpointEntry) -> [String: Any] {
        var out: [String: Any] = ["path": entry.path, "size_bytes": entry.sizeBytes,
                                  "kind": entry.kind == .checkpoint ? "checkpoint" : "savepoint"]
        if let id = entry.id { out["id"] = id }
        switch entry.status {
        case .valid(let m):
            out["valid"] = true
            out["id"] = m.id
            out["created_at_ms"] = m.createdAtMilliseconds
            if case .savepoint(let name) = m.kind { out["name"] = name }
        case .invalid(let reason):
            out["valid"] = false
            out["reason"] = reason
        }
        return out
    }
}
