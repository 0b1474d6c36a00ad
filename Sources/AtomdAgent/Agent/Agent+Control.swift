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

    var accessPolicy: AccessPolicy { AccessPolicy(group: settings.group, publicRead: settings.publicRead, admins: settings.admins) }

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
        var paused = 0, rollingBack = 0
        for run in live.values {
            if !(await run.handle.waitingSteps()).isEmpty { paused += 1 }
            if await run.handle.status() == .rollingBack { rollingBack += 1 }
        }
        let incoming = (try? spool.scan().count) ?? 0
        return metrics.render(running: live.count, queued: queue.count, incoming: incoming, paused: paused, rollingBack: rollingBack)
    }

    /// Validates a job and drops it into incoming/ as a producer would
    /// (written aside, synced, renamed in without replacing anything), with
    /// its caller as the submitter in the sidecar. Returns the name it
    /// arrived under.
    func submit(name: String, bytes: [UInt8], submission: SpoolSubmission, caller: PeerCredentials) async throws(SubmitError) -> String {
        var submission = submission
        submission.submitter = caller.uid
        _ = try await JobAdmission.admitted(name: name, bytes: bytes, limits: limits(for: caller.uid), vars: submission.vars)
        do {
            return try SpoolDrop.write(bytes, named: name, submission: submission, into: settings.spool)
        } catch {
            throw SubmitError(status: 500, message: error.description)
        }
    }
}

/// Steering: who may steer which run, and under which limits.
extension Agent {
    /// The live run `caller` may steer, or why not: it must be theirs (or
    /// they an admin), and its job must pass `api.run_as` for them as it
    /// would if they had submitted it, since steering starts its work again.
    func steerable(_ runID: String, by caller: PeerCredentials) async throws(APIError) -> RunHandle {
        guard let run = live[runID] else {
            throw APIError(.conflict, "run \(runID) is not running in this agent")
        }
        try await authorize(caller, steering: runID, submitter: run.submitter, job: run.job)
        return run.handle
    }

    /// Refuses a caller who neither submitted the run nor may steer every run.
    func checkOwnership(_ caller: PeerCredentials, steering runID: String, submitter: uid_t) throws(APIError) {
        if let refusal = accessPolicy.steeringRefusal(caller, submitter: submitter) {
            throw APIError(.forbidden, refusal, hint: "ask \(UserDatabase.name(of: submitter)), root or a member of api.admins to steer run \(runID)")
        }
    }

    /// Refuses `caller` what `steerable` refuses, for a run given by its
    /// submitter and job.
    func authorize(_ caller: PeerCredentials, steering runID: String, submitter: uid_t, job: Job) async throws(APIError) {
        try checkOwnership(caller, steering: runID, submitter: submitter)
        try await checkAdmission(caller, steering: runID, job: job)
    }

    /// Refuses a caller whose `api.run_as` would not admit the run's job.
    func checkAdmission(_ caller: PeerCredentials, steering runID: String, job: Job) async throws(APIError) {
        let limits = limits(for: caller.uid)
        guard limits != nil else { return }
        do {
            try await OwnThread.run { Result { () throws(SubmitError) in try JobAdmission.check(job, file: job.file, limits: limits) } }.get()
        } catch {
            throw APIError(.forbidden, "run \(runID) does what api.run_as does not allow \(UserDatabase.name(of: caller.uid)): "
                           + error.diagnostics.map(\.message).joined(separator: "; "),
                           hint: "root or the agent's user may steer it")
        }
    }
}
