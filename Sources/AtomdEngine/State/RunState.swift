import AtomdSpec
import Foundation

/// The mutable state of one run. Every transition goes through here: it is
/// checked against the state machine, written to the journal (awaited), then
/// delivered to listeners.
actor RunState {
    let runID: String
    let table: JobTable
    private let hub: EventHub
    private let journal: (any Journal)?
    let redact: SecretMask

    private(set) var status: RunStatus = .queued
    private(set) var records: [String: StepRecord] = [:]
    /// `steps.ID` values for expressions, updated per transition so that
    /// evaluation never walks the whole job.
    private(set) var stepsContext: [String: JSONValue] = [:]
    private var completions = 0
    /// Set when the journal failed: the run must not go on without records.
    private(set) var journalFailure: String?
    /// Outcomes waiting to share the run's next commit (DESIGN.md section
    /// 9: one commit per step). Listeners see them only once they are
    /// stored, so nothing shows an outcome a crash could take back.
    private var deferred: [EngineEvent] = []

    /// Whether transitions are still recorded; actions run only while they are.
    var isRecording: Bool { journalFailure == nil }
    /// The agent is stopping: no new step or revert starts, and nothing is
    /// journaled about it (the next start resumes the run as it is).
    private var held = false
    /// Calls under way that no `running` record shows: a revert (with its
    /// confirming check), the check and state probe before a step starts.
    /// A stop waits for them as for a running step: a revert cut off by the
    /// process's exit would run again at the next start.
    private var calls = 0
    /// Steps in `beginCall` waiting for a held run to go on.
    private var waitingToRetry: Set<String> = []
    private var holdWaiters: [CheckedContinuation<Void, Never>] = []
    /// Set when a revert failed: compensation stops, the run ends revert_failed.
    private(set) var revertFailure: String?
    /// What a rehearsal's audit found left behind.
    private(set) var differences: [RehearsalDifference] = []
    /// What it could not tell: a check that cannot tell is no evidence
    /// either way.
    private(set) var undetermined: [RehearsalDifference] = []

    func recordDifference(_ difference: RehearsalDifference) {
        differences.append(difference)
    }

    func recordUndetermined(_ difference: RehearsalDifference) {
        undetermined.append(difference)
    }

    // Operator control.
    private var pauseRequested = false
    private(set) var cancelRequested = false
    private var resumeWaiters: [CheckedContinuation<Void, Never>] = []
    private var decisions: [String: CheckedContinuation<OperatorDecision, Never>] = [:]
    private var pendingDecisions: [String: OperatorDecision] = [:]
    /// The task running the main steps: cancelling it cancels running atom
    /// calls, while compensation (outside it) still runs.
    private var mainTask: Task<Bool, Never>?
    /// An operator rollback the rules allowed, waiting for the main steps to
    /// stop starting steps and unwind; the executor then carries it out.
    private(set) var rewind: RollbackPlan?
    /// A rollback a restart found begun and not done: finished first.
    private(set) var unfinishedRollback: RollbackPlan?
    /// The rollback being carried out, from the moment the executor takes
    /// it: no other is accepted until it has ended.
    private(set) var carrying: RollbackPlan?
    /// The operator asked for the full compensation of the paused run.
    private(set) var revertRequested = false
    /// A rollback armed for when its start step (running now) succeeds.
    private(set) var reservation: RollbackRequest?
    /// `vars.*` for the steps still to run: the job's, its `--var` values,
    /// then what the operator set while the run was paused.
    private(set) var vars: [String: JSONValue]
    /// Values `--retry --var` gave the retried revert: reverts see them over
    /// the variables their step ran with.
    private(set) var retryVars: [String: JSONValue]

    /// `recovered`: the state a journal left, for a resumed run.
    init(runID: String, table: JobTable, hub: EventHub, journal: (any Journal)?, redact: SecretMask,
         vars: [String: JSONValue] = [:], recovered: RecoveredRun? = nil) {
        self.vars = vars.merging(recovered?.setVars ?? [:]) { _, set in set }
        retryVars = recovered?.retryVars ?? [:]
        self.runID = runID
        self.table = table
        self.hub = hub
        self.journal = journal
        self.redact = redact
        records.reserveCapacity(table.nodes.count)
        stepsContext.reserveCapacity(table.nodes.count)
        if let recovered {
            status = recovered.status
            records = recovered.records
            completions = recovered.completions
            cancelRequested = recovered.cancelled
            unfinishedRollback = recovered.rollback
            reservation = recovered.reservation
            rewind = recovered.asked.map(Self.provisional)
            pauseRequested = recovered.staysPaused
        } else {
            for node in table.nodes.values { records[node.step.id] = StepRecord(id: node.step.id, path: node.path) }
        }
        for record in records.values {
            stepsContext[record.id] = .object(["status": .string(record.status.rawValue), "outputs": record.outputs ?? .object([:])])
        }
    }

    subscript(id: String) -> StepRecord? { records[id] }

    // MARK: Transitions

    /// `staysPaused`: a pause the operator asked for (or a rollback left),
    /// which outlives a restart; a pause at a failed step is asked again.
    func setRun(_ next: RunStatus, detail: String? = nil, staysPaused: Bool = false) async {
        // Paused again (by a rollback, or the operator at a failed step):
        // journaled, so that the run's detail and a restart say so.
        let repause = status == .paused && next == .paused && staysPaused
        guard status != next || repause, journalFailure == nil else { return }
        assert(repause || status.canMove(to: next), "illegal run transition \(status) -> \(next)")
        guard repause || status.canMove(to: next) else { return }
        status = next
        // Recovery must know whether compensation ends `cancelled`, and
        // whether a pause is the operator's.
        let data: JSONValue? = next == .reverting && cancelRequested ? .object(["cancelled": .bool(true)])
            : next == .paused && staysPaused ? .object(["stays_paused": .bool(true)]) : nil
        await emit(hub.make(.run(next), detail: detail.map(redact.callAsFunction), data: data))
    }

    /// The run is over (its `finally` steps have run).
    func close() async {
        await emit(hub.make(.closed))
    }

    /// Moves a step to `next`, applying `update` to its record first.
    func move(_ id: String, to next: StepStatus, attempt: Int? = nil, detail: String? = nil, data: JSONValue? = nil,
              key: String? = nil, update: (inout StepRecord) -> Void = { _ in }) async {
        // Once the journal failed, nothing changes without a record: the run
        // winds down and is resumed from what was recorded.
        guard var record = records[id], journalFailure == nil else { return }
        assert(record.status.canMove(to: next), "illegal step transition \(id): \(record.status) -> \(next)")
        guard record.status.canMove(to: next) else { return }
        record.status = next
        update(&record)
        let now = Date()
        switch next {
        case .running where record.startedAt == nil || attempt == 1: record.startedAt = now
        case .succeeded, .failed, .ignored, .skipped:
            record.finishedAt = now
            completions += 1
            record.completion = completions
        default: break
        }
        records[id] = record
        stepsContext[id] = .object(["status": .string(next.rawValue), "outputs": record.outputs ?? .object([:])])
        // Armed before the success is journaled: no step starts meanwhile.
        if next == .succeeded, let reserved = reservation, reserved.start == id { await fire(reserved) }
        // A start carries the attempt's context: recovery and compensation
        // read it back instead of guessing it.
        let context = next == .running && key != nil ? record.journaledContext.map(redact.callAsFunction) : nil
        await emit(hub.make(.step(next), step: record, attempt: attempt ?? record.attempts,
                            detail: detail.map(redact.callAsFunction), data: data.map(redact.callAsFunction), key: key,
                            effect: record.effect, context: context),
                   deferrable: next.mayShareNextCommit)
    }

    func update(_ id: String, _ change: (inout StepRecord) -> Void) {
        guard var record = records[id] else { return }
        change(&record)
        records[id] = record
    }

    func markRevertFailure(_ message: String) {
        if revertFailure == nil { revertFailure = redact(message) }
    }

    /// `data`: facts worth keeping with the note, such as a shell step's
    /// process group.
    func note(_ id: String?, _ text: String, data: JSONValue? = nil) async {
        let record = id.flatMap { records[$0] }
        await emit(hub.make(.note(redact(text)), step: record, attempt: record?.attempts, data: data.map(redact.callAsFunction)))
    }

    /// Log lines bypass the journal: step output can be huge and belongs in
    /// step log files, not in the transition history.
    nonisolated func log(_ record: StepRecord, attempt: Int, line: String) {
        hub.deliver(hub.make(.log(redact(line)), step: record, attempt: attempt))
    }

    /// Progress, like log lines, goes to listeners only.
    nonisolated func progress(_ record: StepRecord, attempt: Int, fraction: Double, note: String?) {
        hub.deliver(hub.make(.progress(min(1, max(0, fraction)), note.map(redact.callAsFunction)), step: record, attempt: attempt))
    }

    /// Journals `event` with the outcomes waiting before it, in one
    /// transaction, then delivers them. A `deferrable` outcome waits for
    /// the next one: nothing acts on it until then but the engine's own
    /// bookkeeping, and a crash before it is stored leaves the step in
    /// doubt, which recovery settles as it settles any cut step.
    private func emit(_ event: EngineEvent, deferrable: Bool = false) async {
        deferred.append(event)
        guard !deferrable || journal == nil || journalFailure != nil else { return }
        await flush()
    }

    /// Stores and delivers the outcomes waiting for a commit. The executor
    /// calls it before anything that is not a transition of its own: a
    /// probe, a lock, a wait for other steps, a pause or a hold.
    func flush() async {
        guard !deferred.isEmpty else { return }
        let batch = deferred
        deferred = []
        if let journal, journalFailure == nil {
            do {
                try await journal.record(batch)
            } catch {
                journalFailure = "the journal could not record a transition: \(error)"
            }
        }
        for event in batch { hub.deliver(event) }
    }

    // MARK: Operator control

    /// Whether a step may start now; waits while the run is paused.
    func mayStart(_ scope: FailureScope) async -> Bool {
        while pauseRequested, !cancelRequested, !scope.isHalted, !isUnwinding, journalFailure == nil {
            if !deferred.isEmpty {
                await flush()
                continue
            }
            await withCheckedContinuation { resumeWaiters.append($0) }
        }
        await waitWhileHeld()
        return !cancelRequested && !scope.isHalted && journalFailure == nil && !isUnwinding
    }

    /// The main steps stop starting steps and return: a rollback or the
    /// operator's compensation comes next, not a failure of theirs.
    var isUnwinding: Bool { rewind != nil || revertRequested }

    /// Waits for ever while the run is held: the process is about to exit.
    func waitWhileHeld() async {
        while held {
            if !deferred.isEmpty {
                await flush()
                continue
            }
            await withCheckedContinuation { holdWaiters.append($0) }
        }
    }

    /// Waits while the run is held, then counts a call as under way until
    /// `endCall`. One actor turn from the last look at `held` to the count:
    /// a stop never sees the run idle while the call is about to start.
    /// `step`: the step whose next attempt this is. Journaled running after
    /// a failed attempt, it waits here at a boundary (its outcome is
    /// stored), so it does not keep the run from being idle.
    func beginCall(_ step: String? = nil) async {
        if let step { waitingToRetry.insert(step) }
        while held {
            if !deferred.isEmpty {
                await flush()
                continue
            }
            await withCheckedContinuation { holdWaiters.append($0) }
        }
        if let step { waitingToRetry.remove(step) }
        calls += 1
    }

    var isHeld: Bool { held }

    /// The call counted by `beginCall` has ended and its outcome is recorded.
    func endCall() {
        calls -= 1
    }

    /// Stops new steps and reverts from starting, recording nothing.
    func hold() {
        held = true
    }

    /// Whether no step is running (every running action has reached a
    /// journal boundary) and every outcome is stored.
    var isIdle: Bool {
        calls == 0 && deferred.isEmpty && !records.values.contains {
            $0.status == .running && table[$0.id]?.step.group == nil && !waitingToRetry.contains($0.id)
        }
    }

    /// Stops recording: what the journal holds is what the next start
    /// resumes. Nothing after this is journaled, so nothing false is.
    func abort() {
        if journalFailure == nil { journalFailure = "aborted; the journal keeps the run as it was, to resume it" }
        // A held run winds down now, recording nothing.
        held = false
        let waiters = holdWaiters + resumeWaiters
        holdWaiters = []
        resumeWaiters = []
        for waiter in waiters { waiter.resume() }
    }

    func requestPause() async throws(RollbackRefusal) {
        try refuseWhileUndoing("paused")
        guard !pauseRequested, status == .running else { return }
        pauseRequested = true
        await setRun(.paused, detail: "paused by the operator; running steps finish", staysPaused: true)
    }

    func requestResume() async throws(RollbackRefusal) {
        try refuseWhileUndoing("resumed")
        await goOn()
    }

    /// The run goes on: after a pause, an operator's decision on a failed
    /// step, or a rollback with `--resume`.
    func goOn(_ reason: String = "resumed") async {
        guard pauseRequested || [.paused, .rollingBack].contains(status) else { return }
        pauseRequested = false
        if [.paused, .rollingBack].contains(status) { await setRun(.running, detail: reason) }
        let waiters = resumeWaiters
        resumeWaiters = []
        for waiter in waiters { waiter.resume() }
    }

    /// The rollback being carried out, or one a restart found unfinished.
    var rollingBack: RollbackPlan? { carrying ?? unfinishedRollback }

    /// A pause or resume asked while compensation runs, or a rollback is
    /// armed or reverts its path, would be lost (what comes after is theirs
    /// to decide): refused, with why.
    private func refuseWhileUndoing(_ what: String) throws(RollbackRefusal) {
        if status == .reverting || revertRequested || cancelRequested {
            throw RollbackRefusal(rule: "run-state", "the run is being compensated and cannot be \(what) now",
                                  hint: "compensation runs to its end; `atomd show RUN` follows it")
        }
        guard let plan = rollingBack ?? rewind else { return }
        let then = plan.resume ? "goes on by itself (--resume)" : "pauses; `atomd resume RUN` then runs it again"
        throw RollbackRefusal(rule: "rolling-back", "the run is rolling back to '\(plan.target)' and cannot be \(what) now",
                              hint: "wait until the rollback has ended: the run then \(then)")
    }

    func runMain(_ task: Task<Bool, Never>) {
        mainTask = task
        if cancelRequested { task.cancel() }
    }

    /// Checks a rollback against the rules and arms it: no step starts any
    /// more, waiting steps stop waiting, and once the running ones have
    /// finished the executor carries it out.
    func requestRollback(_ request: RollbackRequest, autoResume: Bool) async throws(RollbackRefusal) -> RollbackPlan {
        if let plan = rollingBack ?? rewind {
            throw RollbackRefusal(rule: "one-at-a-time", "the run is already rolling back to '\(plan.target)'",
                                  hint: "wait until that rollback has ended (`atomd show RUN`), then ask again")
        }
        guard !isUnwinding, !cancelRequested else {
            throw RollbackRefusal(rule: "one-at-a-time", "the run is already being \(cancelRequested ? "cancelled" : "reverted")",
                                  hint: "wait for that to end (`atomd show RUN`)")
        }
        let plan = try rules(autoResume: autoResume).plan(request)
        rewind = plan
        wakeWaiters(with: .rollback)
        // Accepted is journaled: a restart before it is carried out (steps
        // running elsewhere finish first) carries it out then.
        var asked = request
        asked.resume = plan.resume
        await note(plan.target, "rollback to '\(plan.target)' accepted; carried out once running steps have finished",
                   data: .object(["rollback_asked": asked.journaled]))
        return plan
    }

    /// The plan a rollback is armed with before the rules make the real one
    /// when it is carried out. An empty `start`: none was given (the rules
    /// pick the default then).
    static func provisional(_ request: RollbackRequest) -> RollbackPlan {
        let request = request.planned
        return RollbackPlan(mode: request.mode, target: request.target, start: request.start ?? "",
                            reverts: [], resets: [], resume: request.resume, kept: request.keep)
    }

    /// `--reserve`: arms a rollback for when `request.start`, running now,
    /// succeeds. Checked now against the rules as they will stand then.
    func reserve(_ request: RollbackRequest, autoResume: Bool) async throws(RollbackRefusal) {
        guard reservation == nil else {
            throw RollbackRefusal(rule: "one-reservation", "the run already has a rollback reserved", hint: "`--cancel` drops it first")
        }
        guard let startID = request.start, let record = records[startID], table[startID]?.step.group == nil else {
            throw RollbackRefusal(rule: "reserve-start", "--reserve needs --from naming the running step it waits for",
                                  hint: "`atomd show RUN` lists the running steps")
        }
        guard record.status == .running else {
            throw RollbackRefusal(rule: "reserve-running", "'\(startID)' is \(record.status.rawValue), not running",
                                  hint: "a step that has finished is rolled back from now, without --reserve")
        }
        // Checked as the run will stand when it fires. In ANY mode --from
        // only names the step to wait for, and the steps running elsewhere
        // will have finished by the time it is carried out.
        var then = records
        then[startID]?.status = .succeeded
        if request.mode == .any {
            for (id, record) in records where record.status == .running && table[id]?.step.group == nil { then[id]?.status = .succeeded }
        }
        _ = try RollbackRules(table: table, records: then, status: status, autoResume: autoResume).plan(request.planned)
        var request = request
        request.resume = request.resume || autoResume
        reservation = request
        await note(startID, "rollback reserved: when '\(startID)' succeeds, back to '\(request.target)' (\(request.mode.rawValue))",
                   data: .object(["reserve": request.journaled]))
    }

    /// `--cancel`: drops the reservation.
    func cancelReservation() async throws(RollbackRefusal) -> RollbackRequest {
        guard let reserved = reservation else {
            throw RollbackRefusal(rule: "reservation-exists", "the run has no rollback reserved", hint: "`atomd show RUN` shows one when there is")
        }
        reservation = nil
        await note(reserved.start, "the reserved rollback to '\(reserved.target)' is cancelled", data: .object(["reserve_cancelled": .bool(true)]))
        return reserved
    }

    /// The reserved start succeeded: the rollback is armed as if asked now,
    /// and the rules decide when it is carried out, once the running steps
    /// have finished (a step elsewhere may still run now); a refusal then
    /// pauses the run and says why. A failed start does not fire it; it
    /// stays reserved for a retry.
    private func fire(_ reserved: RollbackRequest) async {
        reservation = nil
        guard rewind == nil, rollingBack == nil, !cancelRequested, !revertRequested else {
            // Another rollback, a cancel or a revert came first: said, and
            // journaled, so that a restart does not fire it either.
            let first = (rewind ?? rollingBack).map { "the rollback to '\($0.target)' was asked first" } ?? "the run is being compensated"
            await note(reserved.start, "the reserved rollback to '\(reserved.target)' is dropped: \(first)",
                       data: .object(["reserve_cancelled": .bool(true)]))
            return
        }
        rewind = Self.provisional(reserved)
        wakeWaiters(with: .rollback)
    }

    /// A restart found a reservation whose start had succeeded but whose
    /// rollback had not begun: it fires now.
    func fireRecoveredReservation() async {
        if let reserved = reservation, records[reserved.start ?? ""]?.status == .succeeded { await fire(reserved) }
    }

    /// The rollback armed by `requestRollback`, taken by the executor to
    /// carry out.
    func takeRewind() -> RollbackPlan? {
        defer { rewind = nil }
        carrying = rewind
        return rewind
    }

    /// The rollback has ended, carried out or given up.
    func finishedRollback() {
        carrying = nil
        unfinishedRollback = nil
    }


    func rules(autoResume: Bool) -> RollbackRules {
        RollbackRules(table: table, records: records, status: status, autoResume: autoResume)
    }

    /// `atomd set RUN --var`: while the run is paused, variables change for
    /// the steps still to run; journaled, so that a restart keeps them.
    /// `reopening`: for a retried revert (`--retry --var`), while the run
    /// that ended revert_failed opens again.
    func setVariables(_ values: [String: JSONValue], reopening: Bool = false) async throws(RunSetupError) {
        if !reopening, let plan = rollingBack ?? rewind {
            throw RunSetupError("the run is rolling back to '\(plan.target)'; variables are set while it is paused",
                                hint: "wait until the rollback has ended: \(plan.resume ? "the run then goes on; pause it then" : "the run then pauses")")
        }
        guard status == .paused || reopening else {
            throw RunSetupError("the run is \(status.rawValue); variables are set while it is paused", hint: "`atomd pause RUN` first")
        }
        if let unknown = values.keys.sorted().first(where: { vars[$0] == nil }) {
            throw RunSetupError("the job declares no variable '\(unknown)'", hint: "declared: \(vars.keys.sorted().joined(separator: ", "))")
        }
        guard !values.isEmpty else { return }
        vars.merge(values) { _, new in new }
        if reopening { retryVars.merge(values) { _, new in new } }
        let text = values.keys.sorted().map { "\($0)=\(values[$0]?.interpolated ?? "")" }.joined(separator: " ")
        await note(nil, "the operator set \(text)" + (reopening ? " for the retried revert" : ""),
                   data: .object(["set_vars": .object(values), "for_retry": .bool(reopening)]))
    }

    /// `atomd revert RUN`: the paused run is compensated as a whole.
    func requestRevert() async -> Bool {
        guard status == .paused, !isUnwinding, !cancelRequested else { return false }
        revertRequested = true
        wakeWaiters(with: .revert)
        return true
    }

    /// Stops every wait of the main steps: for a pause, and for a decision
    /// (answered with `decision`).
    private func wakeWaiters(with decision: OperatorDecision) {
        let waiters = resumeWaiters
        resumeWaiters = []
        for waiter in waiters { waiter.resume() }
        for (id, waiter) in decisions {
            decisions[id] = nil
            waiter.resume(returning: decision)
        }
    }

    func requestCancel() async {
        mainTask?.cancel()
        cancelRequested = true
        pauseRequested = false
        wakeWaiters(with: .cancel)
    }

    /// After a rollback: paused at its target, unless the run goes on.
    func pauseAfterRollback(_ reason: String) async {
        pauseRequested = true
        await setRun(.paused, detail: reason, staysPaused: true)
    }

    /// Whether a restart found the run paused by the operator.
    var staysPaused: Bool { status == .paused && pauseRequested }

    /// Pauses the run at a failed step and waits for the operator.
    func awaitDecision(for id: String, reason: String) async -> OperatorDecision {
        if cancelRequested { return .cancel }
        if let unwinding = unwindingDecision { return unwinding }
        pauseRequested = true
        await setRun(.paused, detail: reason)
        // A cancel that came while the pause was journaled found no waiter.
        if cancelRequested { return .cancel }
        if let unwinding = unwindingDecision { return unwinding }
        if let decided = pendingDecisions.removeValue(forKey: id) { return decided }
        return await withCheckedContinuation { decisions[id] = $0 }
    }

    /// A question to the operator during compensation. The run stays
    /// `reverting` (a restart comes back to the same question); the reason
    /// is journaled as a note.
    func awaitRevertDecision(for id: String, reason: String) async -> OperatorDecision {
        if cancelRequested { return .cancel }
        await note(id, reason)
        if cancelRequested { return .cancel }
        if let decided = pendingDecisions.removeValue(forKey: id) { return decided }
        return await withCheckedContinuation { decisions[id] = $0 }
    }

    private var unwindingDecision: OperatorDecision? {
        rewind != nil ? .rollback : revertRequested ? .revert : nil
    }

    /// Delivers a decision; false when that step is not waiting for one.
    func decide(_ id: String, _ decision: OperatorDecision) -> Bool {
        // A rollback is armed through `requestRollback`, with its rules.
        guard decision != .rollback else { return false }
        guard let waiter = decisions.removeValue(forKey: id) else { return false }
        waiter.resume(returning: decision)
        return true
    }

    /// Steps waiting for an operator decision.
    var waitingSteps: [String] { decisions.keys.sorted() }
}

private extension StepStatus {
    /// A good ending of a step or its revert: the run's next transition (the
    /// next start, or the run's own status) may carry it. A failure is
    /// stored at once: the operator and the metrics must see it now.
    var mayShareNextCommit: Bool {
        switch self {
        case .succeeded, .skipped, .ignored, .reverted: true
        case .pending, .running, .failed, .reverting, .revertFailed: false
        }
    }
}

/// What the operator chose for a step that failed under `on_failure: pause`.
public enum OperatorDecision: String, Sendable, Hashable, CaseIterable {
    /// Run the step again (new attempts, new idempotency keys).
    case retry
    /// Leave the step failed-but-skipped and go on with the job.
    case skip
    /// Compensate the whole run.
    case revert
    /// Stop: compensate and end the run as cancelled.
    case cancel
    /// An operator rollback was armed: the step waits no more, and the
    /// rollback decides what runs next.
    case rollback
}
