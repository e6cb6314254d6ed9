import CoreMetrics
import Foundation
import Metrics
import Prometheus

/// The worker's metrics, through swift-metrics with a Prometheus registry behind it, named by
/// Prometheus conventions (`sluice_*`, `_total` counters, base units). Operator counters are
/// read from the operator threads when a scrape asks, so the data path pays nothing for them.
///
/// Any thread.
final class PipelineMetrics {
    private let lock = NSLock()
    private let pipeline: String
    private var operatorCounters: [String: (rowsIn: CoreMetrics.Counter, rowsOut: CoreMetrics.Counter, deadLetters: CoreMetrics.Counter, queue: CoreMetrics.Gauge)] = [:]
    private var reported: [String: OperatorCounters] = [:]
    /// `sluice_source_lag_messages`, per operator lane and input partition.
    private var lagGauges: [String: CoreMetrics.Gauge] = [:]
    private let checkpointsCompleted: CoreMetrics.Counter
    private let checkpointsAborted: CoreMetrics.Counter
    private let checkpointDuration: Metrics.Timer
    private let lastCheckpointID: CoreMetrics.Gauge
    private let lastCheckpointBytes: CoreMetrics.Gauge
    private let rowsCommitted: CoreMetrics.Counter
    private let deadLettersCommitted: CoreMetrics.Counter
    private let swaps: CoreMetrics.Counter
    private let restartsGauge: CoreMetrics.Gauge

    /// The process's registry; swift-metrics is bootstrapped with it once (a worker process
    /// runs one pipeline).
    private static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    init(pipeline: String, restarts: Int) {
        self.pipeline = pipeline
        _ = PipelineMetrics.registry
        let p = [("pipeline", pipeline)]
        checkpointsCompleted = CoreMetrics.Counter(label: "sluice_checkpoints_completed_total", dimensions: p)
        checkpointsAborted = CoreMetrics.Counter(label: "sluice_checkpoints_aborted_total", dimensions: p)
        checkpointDuration = Metrics.Timer(label: "sluice_checkpoint_duration_seconds", dimensions: p)
        lastCheckpointID = CoreMetrics.Gauge(label: "sluice_last_checkpoint_id", dimensions: p)
        lastCheckpointBytes = CoreMetrics.Gauge(label: "sluice_last_checkpoint_state_bytes", dimensions: p)
        rowsCommitted = CoreMetrics.Counter(label: "sluice_sink_rows_committed_total", dimensions: p)
        deadLettersCommitted = CoreMetrics.Counter(label: "sluice_dead_letters_committed_total", dimensions: p)
        swaps = CoreMetrics.Counter(label: "sluice_sink_swaps_total", dimensions: p)
        restartsGauge = CoreMetrics.Gauge(label: "sluice_worker_restarts", dimensions: p)
        restartsGauge.record(restarts)
    }

    /// The Prometheus text exposition, with operator counters brought up to date.
    func render(operators: [OperatorThread]) -> String {
        refresh(operators)
        var buffer: [UInt8] = []
        PipelineMetrics.registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }

    private func refresh(_ operators: [OperatorThread]) {
        lock.lock()
        defer { lock.unlock() }
        for op in operators {
            let name = op.setup.displayName
            let c = op.counters
            let metrics = operatorCounters[name] ?? {
                let d = [("pipeline", pipeline), ("operator", op.setup.spec.name), ("lane", String(op.setup.lane.index))]
                let made = (CoreMetrics.Counter(label: "sluice_operator_records_in_total", dimensions: d),
                            CoreMetrics.Counter(label: "sluice_operator_records_out_total", dimensions: d),
                            CoreMetrics.Counter(label: "sluice_operator_dead_letters_total", dimensions: d),
                            CoreMetrics.Gauge(label: "sluice_operator_queue_depth", dimensions: d))
                operatorCounters[name] = made
                return made
            }()
            let before = reported[name] ?? OperatorCounters()
            // Counters only grow; a swapped operator keeps counting from where it was.
            metrics.rowsIn.increment(by: max(0, c.rowsIn - before.rowsIn))
            metrics.rowsOut.increment(by: max(0, c.rowsOut - before.rowsOut))
            metrics.deadLetters.increment(by: max(0, c.deadLetters - before.deadLetters))
            metrics.queue.record(op.inbox.depth)
            reported[name] = c
            for (partition, messages) in op.pluginLag {
                let key = name + "\u{0}" + partition
                let gauge = lagGauges[key] ?? {
                    let made = CoreMetrics.Gauge(label: "sluice_source_lag_messages",
                                                 dimensions: [("pipeline", pipeline), ("operator", op.setup.spec.name),
                                                              ("lane", String(op.setup.lane.index)), ("partition", partition)])
                    lagGauges[key] = made
                    return made
                }()
                gauge.record(messages)
            }
        }
    }

    func checkpointCompleted(id: UInt64, durationNanoseconds: UInt64, stateBytes: Int, sinkRows: Int, deadLetterRows: Int) {
        checkpointsCompleted.increment()
        checkpointDuration.recordNanoseconds(Int64(durationNanoseconds))
        lastCheckpointID.record(Double(id))
        lastCheckpointBytes.record(stateBytes)
        rowsCommitted.increment(by: sinkRows)
        deadLettersCommitted.increment(by: deadLetterRows)
    }

    func checkpointAborted() { checkpointsAborted.increment() }
    func sinkSwapped() { swaps.increment() }
}
