import AtomdEngine
import AtomdPlugins
import AtomdSpec
import Foundation

/// What the control API asks of the agent.
extension Agent {
    /// A run the agent holds now, as the API lists it.
    public struct LiveSummary: Sendable, Codable {
        public var runID: String
        public var file: String
        public var job: String
        /// Steps paused for an operator decision (retry or skip).
        public var waiting: [String]
        /// Steps waiting for a `lock:` another run holds.
        public var locks: [String]
        public var seconds: Double

        enum CodingKeys: String, CodingKey {
            case runID = "run_id", file, job, waiting, locks, seconds
        }
    }

    var accessPolicy: AccessPolicy { AccessPolicy(group: settings.group, publicRead: settings.publicRead) }

    func liveRuns() async -> [LiveSummary] {
        var summaries: [LiveSummary] = []
        for run in live.values.sorted(by: { $0.started < $1.started }) {
            let seconds = (ContinuousClock.now - run.started) / .seconds(1)
            summaries.append(LiveSummary(runID: run.runID, file: run.file, job: run.jobName,
                                         waiting: await run.handle.waitingSteps(), locks: await locks.waits(of: run.runID),
                                         seconds: seconds))
        }
        return summaries
    }

    /// Claimed files waiting for a slot, in the order they will start.
    var queuedFiles: [String] { queue.waiting.map(\.file) }

    func handle(_ runID: String) -> RunHandle? { live[runID]?.handle }

    var isAccepting: Bool { accepting }

    func pluginInventory() async -> [PluginListing] { await catalog.inventory() }

    func metricsText() async -> String {
        var paused = 0
        for run in live.values where !(await run.handle.waitingSteps()).isEmpty { paused += 1 }
        let incoming = (try? spool.scan().count) ?? 0
        return metrics.render(running: live.count, queued: queue.count, incoming: incoming, paused: paused)
    }

    /// Validates a job and drops it into incoming/ as a producer would
    /// (written aside, synced, renamed in without replacing anything).
    /// Returns the name it arrived under.
    func submit(name: String, bytes: [UInt8], submission: SpoolSubmission?) async throws(SubmitError) -> String {
        _ = try await JobAdmission.admitted(name: name, bytes: bytes, runAs: settings.runAs, vars: submission?.vars ?? [:])
        do {
            return try SpoolDrop.write(bytes, named: name, submission: submission, into: settings.spool)
        } catch {
            throw SubmitError(status: 500, message: error.description)
        }
    }
}
