import AtomdSpec
import Foundation

/// Runs jobs as transactions. Knows atoms only through `AtomRegistry`, the
/// journal only through `Journal`, locks only through `LockProvider`.
public struct Engine: Sendable {
    public var registry: AtomRegistry
    public var journal: (any Journal)?
    public var locks: any LockProvider
    public var listeners: [any EventListener]

    public init(registry: AtomRegistry, journal: (any Journal)? = nil, locks: any LockProvider = InProcessLocks(),
                listeners: [any EventListener] = []) {
        self.registry = registry
        self.journal = journal
        self.locks = locks
        self.listeners = listeners
    }

    /// Checks that the run can start (every atom registered, every `--var`
    /// declared), then starts it in the background.
    public func start(_ request: RunRequest) throws(RunSetupError) -> RunHandle {
        try launch(request, recovered: nil)
    }

    /// Resumes a run from its journaled events (DESIGN.md section 5): steps
    /// found running are resolved by their checks, a compensation under way
    /// goes on, `finally` steps that did not run do. `request` must carry the
    /// run's id, its job and `--var` values; secrets are resolved anew.
    public func resume(_ request: RunRequest, history: [EngineEvent]) throws(RunSetupError) -> RunHandle {
        guard let runID = request.runID else { throw RunSetupError("a resumed run needs its run id") }
        let recovered = RecoveredRun(table: JobTable(request.job), history: history.filter { $0.runID == runID })
        guard recovered.needsRecovery else {
            throw RunSetupError("run \(runID) has already ended (\(recovered.status.rawValue))", hint: "nothing to resume")
        }
        return try launch(request, recovered: recovered)
    }

    /// `atomd rollback RUN --retry`: opens a run that ended `revert_failed`
    /// again and retries its failed revert (DESIGN.md section 5: the only
    /// way a failed revert runs again). An operator rollback it belonged to
    /// then goes on; an automatic compensation goes on to its end.
    /// `setting`: declared variables with new values for the retry
    /// (`--retry --var`), journaled before the revert runs again, whose
    /// inputs are then evaluated with them.
    public func retryRevert(_ request: RunRequest, history: [EngineEvent], setting: [String: JSONValue] = [:]) throws(RunSetupError) -> RunHandle {
        guard let runID = request.runID else { throw RunSetupError("a retried run needs its run id") }
        if let unknown = setting.keys.sorted().first(where: { request.job.vars[$0] == nil }) {
            throw RunSetupError("--var \(unknown): the job declares no variable '\(unknown)'",
                                hint: "declared: \(request.job.vars.keys.sorted().joined(separator: ", "))")
        }
        let recovered = RecoveredRun(table: JobTable(request.job), history: history.filter { $0.runID == runID })
        guard recovered.status == .revertFailed else {
            throw RunSetupError("run \(runID) is \(recovered.status.rawValue), not revert_failed",
                                hint: "--retry retries a failed revert; `atomd show \(runID)` shows the run")
        }
        return try launch(request, recovered: recovered, reopening: true, setting: setting)
    }

    private func launch(_ request: RunRequest, recovered: RecoveredRun?, reopening: Bool = false,
                        setting: [String: JSONValue] = [:]) throws(RunSetupError) -> RunHandle {
        let table = JobTable(request.job)
        let missing = table.requiredAtoms.filter { registry[$0] == nil }.sorted()
        guard missing.isEmpty else {
            throw RunSetupError("no atom registered for: \(missing.joined(separator: ", "))",
                                hint: "known atoms: \(registry.names.joined(separator: ", "))")
        }
        var vars = request.job.vars
        for (name, value) in request.vars.sorted(by: { $0.key < $1.key }) {
            guard vars[name] != nil else {
                throw RunSetupError("--var \(name): the job declares no variable '\(name)'",
                                    hint: "declared: \(request.job.vars.keys.sorted().joined(separator: ", "))")
            }
            vars[name] = value
        }
        let runID = request.runID ?? RunID.make()
        let mask = SecretMask(request.secrets.values)
        var contexts: [String: JSONValue] = [
            "vars": .object(vars),
            "secrets": .object(request.secrets.mapValues(JSONValue.string)),
            "run": .object(["id": .string(runID), "name": .string(request.job.name), "status": .string(RunStatus.running.rawValue)]),
        ]
        contexts["env"] = try environment(of: request.job, contexts: contexts, mask: mask)
        contexts["run"] = nil
        let hub = EventHub(runID: runID, listeners: listeners, sequence: recovered?.lastSequence ?? 0)
        let state = RunState(runID: runID, table: table, hub: hub, journal: journal, redact: mask, vars: vars, recovered: recovered)
        let executor = RunExecutor(job: request.job, table: table, state: state, registry: registry, locks: locks,
                                   baseContexts: contexts, reopening: reopening, reopenVars: setting, injected: request.injectedFailure)
        return RunHandle(runID: runID, state: state, task: Task { await executor.run() }, autoResume: request.job.rollback.autoResume)
    }

    /// `env.*`: the job's `env:`, not atomd's own environment, which may hold
    /// its secrets and is not the job author's to read.
    private func environment(of job: Job, contexts: [String: JSONValue], mask: SecretMask) throws(RunSetupError) -> JSONValue {
        let evaluator = ExpressionEvaluator(contexts: contexts, taint: mask)
        var values: [String: JSONValue] = [:]
        // The job's env goes into every step's input: it alone may not take more.
        let budget = ActionValues(evaluator: evaluator, environment: [])
        for variable in job.env {
            do {
                values[variable.name] = .string(try budget.string(variable.value))
            } catch {
                throw RunSetupError("env \(variable.name): \(mask(error.message))")
            }
        }
        return .object(values)
    }
}

/// One run to start.
public struct RunRequest: Sendable {
    public var job: Job
    /// Nil: a new id is made.
    public var runID: String?
    /// `--var` overrides; each must be declared in the job's `vars`.
    public var vars: [String: JSONValue]
    /// Resolved secret values by name (redacted in everything published).
    public var secrets: [String: String]
    /// `atomd rehearse`: the failure to inject; the run's compensation is
    /// then audited (`RunReport.leftBehind`).
    public var injectedFailure: InjectedFailure?

    public init(job: Job, runID: String? = nil, vars: [String: JSONValue] = [:], secrets: [String: String] = [:],
                injectedFailure: InjectedFailure? = nil) {
        self.job = job
        self.runID = runID
        self.vars = vars
        self.secrets = secrets
        self.injectedFailure = injectedFailure
    }
}

/// Why a run could not start.
public struct RunSetupError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var hint: String?

    public init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }

    public var description: String { hint.map { "\(message); \($0)" } ?? message }
}

/// A started run: wait for it, or steer it.
public final class RunHandle: Sendable {
    public let runID: String
    let state: RunState
    private let task: Task<RunReport, Never>

    private let autoResume: Bool

    init(runID: String, state: RunState, task: Task<RunReport, Never>, autoResume: Bool) {
        self.runID = runID
        self.state = state
        self.task = task
        self.autoResume = autoResume
    }

    /// The report when the run has ended.
    public func wait() async -> RunReport { await task.value }

    /// Stop starting steps; running ones finish. Refused while a rollback
    /// reverts its path.
    public func pause() async throws(RollbackRefusal) { try await state.requestPause() }

    /// Go on after a pause. Refused while a rollback reverts its path.
    public func resume() async throws(RollbackRefusal) { try await state.requestResume() }

    /// Cancel: running steps are cancelled, then what was done is compensated.
    public func cancel() async { await state.requestCancel() }

    /// Answers a step paused by `on_failure: pause`. False if it is not waiting.
    @discardableResult
    public func decide(_ stepID: String, _ decision: OperatorDecision) async -> Bool {
        await state.decide(stepID, decision)
    }

    /// The run's status now.
    public func status() async -> RunStatus { await state.status }

    /// Steps waiting for an operator decision.
    public func waitingSteps() async -> [String] { await state.waitingSteps }

    /// Arms an operator rollback (DESIGN.md section 4): checked against the
    /// rules now, carried out once the steps running elsewhere have
    /// finished. Throws the rule that refused it.
    public func rollback(_ request: RollbackRequest) async throws(RollbackRefusal) -> RollbackPlan {
        try await state.requestRollback(request, autoResume: autoResume)
    }

    /// `--reserve`: arms a rollback from `request.start` (a running step)
    /// for when it succeeds; one per run.
    public func reserveRollback(_ request: RollbackRequest) async throws(RollbackRefusal) {
        try await state.reserve(request, autoResume: autoResume)
    }

    /// `--cancel`: drops the reserved rollback and returns it.
    public func cancelReservedRollback() async throws(RollbackRefusal) -> RollbackRequest {
        try await state.cancelReservation()
    }

    /// The rollback reserved, if any.
    public func reservedRollback() async -> RollbackRequest? { await state.reservation }

    /// Every main step as a rollback target now, allowed or why not.
    public func rollbackTargets(start: String? = nil, mode: RollbackMode = .token) async -> [RollbackTarget] {
        await state.rules(autoResume: autoResume).targets(start: start, mode: mode)
    }

    /// Sets variables of a paused run for the steps still to run (after a
    /// rollback, the steps run again see them). `env:` was computed when
    /// the run started and does not change.
    public func setVariables(_ values: [String: JSONValue]) async throws(RunSetupError) {
        try await state.setVariables(values)
    }

    /// `atomd revert RUN`: compensates a paused run as a whole. False when
    /// the run is not paused.
    public func revert() async -> Bool { await state.requestRevert() }

    /// Stops at once: cancels every running call, compensates nothing and
    /// records nothing more; the journal keeps the run as it was, and
    /// resuming it settles what was running.
    public func abort() async {
        await state.abort()
        task.cancel()
    }

    /// The agent is stopping: no new step or revert starts, and nothing is
    /// journaled about it. Running steps go on to their end.
    public func hold() async { await state.hold() }

    /// Whether no step is running.
    public func isIdle() async -> Bool { await state.isIdle }
}

/// How a run ended.
public struct RunReport: Sendable, Codable {
    public var runID: String
    public var job: String
    public var status: RunStatus
    /// In job order, groups before their steps, `finally` last.
    public var steps: [StepRecord]
    /// Why the run could not continue (a failed journal), if it stopped early.
    public var error: String?
    /// The ids of the `finally` steps (the last of `steps`).
    public var finally: [String] = []
    /// A rehearsal's audit: what compensation left behind.
    public var leftBehind: [RehearsalDifference] = []
    /// A rehearsal's audit: the checks that could not tell, with why.
    public var undetermined: [RehearsalDifference] = []
}

/// Run ids: sortable and unique enough for one agent, `20261122-120501-3f9a1c`.
public enum RunID {
    public static func make() -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: Date())
        func two(_ value: Int?) -> String { String(format: "%02d", value ?? 0) }
        let suffix = String(UInt32.random(in: 0...0xFFFFFF), radix: 16)
        return "\(parts.year ?? 0)\(two(parts.month))\(two(parts.day))-\(two(parts.hour))\(two(parts.minute))\(two(parts.second))-"
            + String(repeating: "0", count: 6 - suffix.count) + suffix
    }
}
