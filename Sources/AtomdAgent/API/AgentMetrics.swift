import AtomdEngine
import AtomdSpec
import Foundation
import Metrics
import Prometheus
import Synchronization

/// What `/metrics` reports, counted from the engine's events of every run
/// the agent starts, in a swift-prometheus registry. The agent bootstraps
/// swift-metrics with the same registry, so a metric any part of the agent
/// records through swift-metrics is exported beside these (the spool's
/// `atomd_spool_claims_total` is one).
public final class AgentMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let running, queued, paused, rollingBack, spoolDepth: Prometheus.Gauge
    private let queueWait: DurationHistogram
    private let compensations, compensationFailures: Prometheus.Counter
    /// When each running step began, by run and step path, for its duration.
    private let stepStarts = Mutex<[String: Date]>([:])

    static let buckets: [Duration] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600].map(Duration.seconds)

    public init() {
        let help = "Runs by state now: running (including paused and rolling back), paused at a failed step, rolling back, and queued."
        running = registry.makeGauge(name: "atomd_runs_active", labels: [("state", "running")], help: help)
        queued = registry.makeGauge(name: "atomd_runs_active", labels: [("state", "queued")], help: help)
        paused = registry.makeGauge(name: "atomd_runs_active", labels: [("state", "paused")], help: help)
        rollingBack = registry.makeGauge(name: "atomd_runs_active", labels: [("state", "rolling_back")], help: help)
        compensations = registry.makeCounter(name: "atomd_compensations_total", help: "Steps reverted by compensation.")
        compensationFailures = registry.makeCounter(name: "atomd_compensation_failures_total",
                                                    help: "Reverts that failed: something is left behind.")
        spoolDepth = registry.makeGauge(name: "atomd_spool_depth", help: "Job files waiting in incoming/.")
        queueWait = registry.makeDurationHistogram(name: "atomd_queue_wait_seconds", buckets: Self.buckets,
                                                   help: "Time from claiming a job to starting its run.")
        // Every final status from the start, so that a rate can be taken of a status not seen yet.
        for status in RunStatus.allCases where status.isFinal { _ = runsEnded(status) }
    }

    /// Makes this registry swift-metrics' backend for the whole process
    /// (once, at the agent's start): `Counter(label:)` and the like, from any
    /// module, are then exported by `/metrics` too.
    public func bootstrapMetricsSystem() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.buckets
        MetricsSystem.bootstrap(factory)
    }

    private func runsEnded(_ status: RunStatus) -> Prometheus.Counter {
        registry.makeCounter(name: "atomd_runs_total", labels: [("status", status.rawValue)],
                             help: "Runs that ended since the agent started, by final status.")
    }

    private func steps(_ atom: String, _ status: StepStatus) -> Prometheus.Counter {
        registry.makeCounter(name: "atomd_steps_total", labels: [("atom", atom), ("status", status.rawValue)],
                             help: "Step outcomes by atom and status.")
    }

    /// A listener for one run of `job`.
    func listener(for job: Job) -> some EventListener {
        var atoms: [String: String] = [:]
        for step in job.allSteps {
            switch step.action {
            case .run: atoms[step.id] = "run"
            case .http: atoms[step.id] = "http"
            case .plugin(let plugin): atoms[step.id] = plugin.plugin + "." + plugin.atom
            case .group: atoms[step.id] = "group"
            }
        }
        return EventCallback { [self, atoms] event in self.count(event, atom: event.stepID.flatMap { atoms[$0] } ?? "unknown") }
    }

    func observeQueueWait(_ duration: Duration) {
        queueWait.record(duration)
    }

    private func count(_ event: EngineEvent, atom: String) {
        switch event.kind {
        case .run(let status) where status.isFinal:
            runsEnded(status).increment()
        case .step(let status):
            let key = event.runID + "/" + (event.stepPath ?? "")
            switch status {
            case .running:
                stepStarts.withLock { $0[key] = event.time }
            case .succeeded, .failed, .skipped, .ignored:
                steps(atom, status).increment()
                if let start = stepStarts.withLock({ $0.removeValue(forKey: key) }) {
                    registry.makeDurationHistogram(name: "atomd_step_duration_seconds", labels: [("atom", atom)], buckets: Self.buckets,
                                                   help: "Step execution time (first attempt start to outcome) by atom.")
                        .record(.seconds(max(0, event.time.timeIntervalSince(start))))
                }
            case .reverted:
                steps(atom, status).increment()
                compensations.increment()
            case .revertFailed:
                steps(atom, status).increment()
                compensationFailures.increment()
            case .pending, .reverting:
                break
            }
        default:
            break
        }
    }

    /// The exposition text, with the gauges read at scrape time.
    func render(running: Int, queued: Int, incoming: Int, paused: Int, rollingBack: Int) -> String {
        self.running.set(Int64(running))
        self.rollingBack.set(Int64(rollingBack))
        self.queued.set(Int64(queued))
        self.paused.set(Int64(paused))
        spoolDepth.set(Int64(incoming))
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
