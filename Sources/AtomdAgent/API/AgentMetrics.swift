import AtomdEngine
import AtomdSpec
import Foundation
import Synchronization

/// What `/metrics` reports, counted from the engine's events of every run
/// the agent starts. The Prometheus text format is rendered here (a page of
/// code) rather than through swift-metrics and swift-prometheus: nothing
/// else in atomd needs a metrics backend.
public final class AgentMetrics: Sendable {
    struct StepKey: Hashable {
        var atom: String
        var status: String
    }

    struct State {
        var runsEnded: [String: Int] = [:]
        var steps: [StepKey: Int] = [:]
        var stepDurations: [String: Histogram] = [:]
        var compensations = 0
        var compensationFailures = 0
        var queueWait = Histogram()
        var stepStarts: [String: Date] = [:]
    }

    /// Cumulative buckets in seconds.
    struct Histogram {
        static let bounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600]
        var counts = [Int](repeating: 0, count: bounds.count)
        var sum = 0.0
        var count = 0

        mutating func observe(_ seconds: Double) {
            for (index, bound) in Self.bounds.enumerated() where seconds <= bound { counts[index] += 1 }
            sum += seconds
            count += 1
        }
    }

    private let state = Mutex(State())

    public init() {}

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

    func observeQueueWait(_ seconds: Double) {
        state.withLock { $0.queueWait.observe(seconds) }
    }

    private func count(_ event: EngineEvent, atom: String) {
        state.withLock { state in
            switch event.kind {
            case .run(let status) where status.isFinal:
                state.runsEnded[status.rawValue, default: 0] += 1
            case .step(let status):
                let key = event.runID + "/" + (event.stepPath ?? "")
                switch status {
                case .running:
                    state.stepStarts[key] = event.time
                case .succeeded, .failed, .skipped, .ignored:
                    state.steps[StepKey(atom: atom, status: status.rawValue), default: 0] += 1
                    if let start = state.stepStarts.removeValue(forKey: key) {
                        state.stepDurations[atom, default: Histogram()].observe(event.time.timeIntervalSince(start))
                    }
                case .reverted:
                    state.steps[StepKey(atom: atom, status: status.rawValue), default: 0] += 1
                    state.compensations += 1
                case .revertFailed:
                    state.steps[StepKey(atom: atom, status: status.rawValue), default: 0] += 1
                    state.compensationFailures += 1
                case .pending, .reverting:
                    break
                }
            default:
                break
            }
        }
    }

    /// The exposition text. `gauges`: values read at scrape time.
    func render(running: Int, queued: Int, incoming: Int, paused: Int) -> String {
        let state = state.withLock { $0 }
        var text = ""
        func family(_ name: String, _ type: String, _ help: String) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        func label(_ value: String) -> String {
            value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n")
        }
        func histogram(_ name: String, _ labels: String, _ histogram: Histogram) {
            let prefix = labels.isEmpty ? "" : labels + ","
            for (index, bound) in Histogram.bounds.enumerated() {
                text += "\(name)_bucket{\(prefix)le=\"\(bound)\"} \(histogram.counts[index])\n"
            }
            text += "\(name)_bucket{\(prefix)le=\"+Inf\"} \(histogram.count)\n"
            let braces = labels.isEmpty ? "" : "{\(labels)}"
            text += "\(name)_sum\(braces) \(histogram.sum)\n\(name)_count\(braces) \(histogram.count)\n"
        }
        family("atomd_runs_active", "gauge", "Runs by state now: running (including paused) and queued.")
        text += "atomd_runs_active{state=\"running\"} \(running)\natomd_runs_active{state=\"queued\"} \(queued)\n"
        text += "atomd_runs_active{state=\"paused\"} \(paused)\n"
        family("atomd_runs_total", "counter", "Runs that ended since the agent started, by final status.")
        for status in RunStatus.allCases where status.isFinal {
            text += "atomd_runs_total{status=\"\(status.rawValue)\"} \(state.runsEnded[status.rawValue] ?? 0)\n"
        }
        family("atomd_steps_total", "counter", "Step outcomes by atom and status.")
        for (key, count) in state.steps.sorted(by: { ($0.key.atom, $0.key.status) < ($1.key.atom, $1.key.status) }) {
            text += "atomd_steps_total{atom=\"\(label(key.atom))\",status=\"\(key.status)\"} \(count)\n"
        }
        family("atomd_step_duration_seconds", "histogram", "Step execution time (first attempt start to outcome) by atom.")
        for (atom, durations) in state.stepDurations.sorted(by: { $0.key < $1.key }) {
            histogram("atomd_step_duration_seconds", "atom=\"\(label(atom))\"", durations)
        }
        family("atomd_compensations_total", "counter", "Steps reverted by compensation.")
        text += "atomd_compensations_total \(state.compensations)\n"
        family("atomd_compensation_failures_total", "counter", "Reverts that failed: something is left behind.")
        text += "atomd_compensation_failures_total \(state.compensationFailures)\n"
        family("atomd_spool_depth", "gauge", "Job files waiting in incoming/.")
        text += "atomd_spool_depth \(incoming)\n"
        family("atomd_queue_wait_seconds", "histogram", "Time from claiming a job to starting its run.")
        histogram("atomd_queue_wait_seconds", "", state.queueWait)
        return text
    }
}
