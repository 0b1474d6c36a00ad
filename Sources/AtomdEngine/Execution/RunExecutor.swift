import AtomdSpec
import Foundation

/// Carries one run from start to end: main steps, compensation when they
/// fail, then `finally`. Scheduling, steps, groups, checks and compensation
/// live in the extensions beside this file.
struct RunExecutor: Sendable {
    let job: Job
    let table: JobTable
    let state: RunState
    let registry: AtomRegistry
    let locks: any LockProvider
    /// `env`, `secrets`: fixed for the run (`vars` may change while it is paused).
    let baseContexts: [String: JSONValue]
    /// The run ended `revert_failed` and the operator retries (`--retry`).
    var reopening = false
    /// Variables the operator set for the retry (`--retry --var`).
    var reopenVars: [String: JSONValue] = [:]
    /// `atomd rehearse`: the failure injected into this run.
    var injected: InjectedFailure?
    /// Atoms' notes, journaled by a task of the run.
    let notes = NoteChannel()

    func run() async -> RunReport {
        async let noted: Void = notes.drain(into: state)
        let closing = await runToTheEnd()
        // Every note an atom sent is journaled before the run is closed.
        notes.finish()
        await noted
        if closing { await state.close() }
        return await report()
    }

    /// Main steps, compensation and `finally`. True when the run may be closed.
    private func runToTheEnd() async -> Bool {
        let resumed = await state.status != .queued
        if reopening, await state.status == .revertFailed {
            await reopen()
        }
        switch await state.status {
        case .queued, .running, .paused, .rollingBack:
            if await state.status == .rollingBack {
                // `--retry` said why it reopened the run.
                if !reopening { await state.note(nil, "resumed from the journal; the rollback goes on") }
            } else if await state.staysPaused {
                await state.note(nil, "resumed from the journal; paused as the operator left it")
            } else {
                await state.setRun(.running, detail: resumed ? "resumed from the journal" : nil)
            }
            if case .walked(let succeeded) = await runMainSteps(resumed: resumed), await state.isRecording {
                await finish(mainSucceeded: succeeded)
            }
        case .reverting:
            await state.note(nil, "resumed from the journal: compensating")
            await finish(mainSucceeded: false)
        case .succeeded, .reverted, .revertFailed, .failed, .cancelled:
            // The outcome was journaled; only `finally` may be left to run.
            break
        }
        // What compensation left, before `finally` changes anything.
        if injected != nil, await state.isRecording, [.reverted, .revertFailed].contains(await state.status) {
            await auditCompensation()
        }
        if await state.isRecording {
            var frame = Frame()
            frame.inFinally = true
            for id in table.finally {
                _ = await executeStep(id, scope: FailureScope(), frame: frame)
            }
        }
        return await state.isRecording
    }

    private enum MainOutcome {
        /// The main steps ended, all succeeded or not.
        case walked(Bool)
        /// A rollback's revert failed: the run is `revert_failed`.
        case revertFailed
    }

    /// Walks the main steps, again after each operator rollback.
    private func runMainSteps(resumed: Bool) async -> MainOutcome {
        if let unfinished = await state.unfinishedRollback {
            guard await rollBack(unfinished, recovered: true) else { return .revertFailed }
        }
        await state.fireRecoveredReservation()
        var succeeded = false
        while true {
            let main = Task { [self] in
                await executeList(table.main, mode: .sequence, maxParallel: nil, scope: FailureScope(), frame: Frame())
            }
            await state.runMain(main)
            succeeded = await withTaskCancellationHandler {
                await main.value
            } onCancel: {
                main.cancel()
            }
            guard let plan = await state.takeRewind(), await state.isRecording else { break }
            guard await rollBack(plan, recovered: false) else { return .revertFailed }
        }
        if resumed { await settleInterrupted() }
        return .walked(succeeded)
    }

    /// `atomd rollback RUN --retry`: the run that ended `revert_failed` is
    /// open again. Its failed reverts run once more, each under a key of its
    /// own; an unfinished rollback then goes on, and an automatic
    /// compensation goes on to its end. `finally` steps run again at the new end.
    private func reopen() async {
        await state.note(nil, "the operator retries the failed revert", data: .object(["reopened": .bool(true)]))
        // Checked against the job's declarations when the retry was asked.
        try? await state.setVariables(reopenVars, reopening: true)
        for id in table.finally.flatMap(table.subtree) where await state[id]?.status != .pending {
            await state.move(id, to: .pending, detail: "runs again at the run's new end") { $0.clearForRollback() }
        }
        for (id, record) in await state.records.sorted(by: { $0.key < $1.key }) where record.status == .revertFailed {
            guard table[id]?.step.group == nil else {
                await state.move(id, to: .reverting)
                continue
            }
            let attempt = record.revertAttempt + 1
            await state.move(id, to: .reverting, key: record.revertKey(runID: state.runID, attempt: attempt)) {
                $0.revertAttempt = attempt
            }
        }
        if await state.unfinishedRollback != nil {
            await state.setRun(.rollingBack, detail: "retrying the rollback's failed revert")
        } else {
            await state.setRun(.reverting, detail: "retrying the failed revert; compensation goes on")
        }
    }

    /// Decides the run's outcome after the main steps, compensating if needed.
    private func finish(mainSucceeded: Bool) async {
        let cancelled = await state.cancelRequested
        if await state.revertRequested {
            await state.setRun(.reverting, detail: "the operator asked for the run to be reverted")
        }
        if await state.status != .reverting {
            if mainSucceeded, !cancelled {
                await state.setRun(.succeeded)
                return
            }
            if await state.revertFailure != nil {
                await state.setRun(.reverting)
                await state.setRun(.revertFailed, detail: await state.revertFailure)
                return
            }
            if !cancelled, job.onFailure == .fail {
                await state.setRun(.failed, detail: "on_failure: fail; nothing was reverted")
                return
            }
            await state.setRun(.reverting, detail: cancelled ? "cancelled; compensating" : "a step failed; compensating")
        }
        let compensated = await compensateList(table.main, mode: .sequence)
        if compensated {
            await state.setRun(cancelled ? .cancelled : .reverted)
        } else {
            await state.setRun(.revertFailed, detail: await state.revertFailure)
        }
    }

    private func report() async -> RunReport {
        let records = await state.records
        let order = table.main.flatMap(table.subtree) + table.finally.flatMap(table.subtree)
        // Sized once: grown by doubling, a 10,000-step report briefly held twice its size.
        var steps: [StepRecord] = []
        steps.reserveCapacity(order.count)
        for id in order { if let record = records[id] { steps.append(record.masked(by: state.redact)) } }
        return RunReport(runID: state.runID, job: job.name, status: await state.status,
                         steps: steps, error: await state.journalFailure.map(state.redact.callAsFunction),
                         finally: table.finally.flatMap(table.subtree), leftBehind: await state.differences,
                         undetermined: await state.undetermined)
    }

    /// The values an expression of step `id` can read right now.
    /// `keyAttempt`: the attempt whose idempotency key `step.idempotency_key`
    /// reads; by default the step's latest execute attempt (what a check or
    /// a revert is about).
    func evaluator(for id: String, frame: Frame, attempt: Int, keyAttempt: Int? = nil,
                   extra: [String: JSONValue] = [:]) async -> ExpressionEvaluator {
        var contexts = baseContexts
        contexts["vars"] = frame.recorded ? await ranWith(frame) : .object(await state.vars)
        contexts["steps"] = .object(await state.stepsContext)
        contexts["run"] = .object(["id": .string(state.runID), "name": .string(job.name),
                                   "status": .string(await state.status.rawValue)])
        let recordedKey = await state[id]?.keyAttempt
        let keyed = keyAttempt ?? max(recordedKey ?? attempt, 1)
        contexts["step"] = .object(["id": .string(id), "attempt": .integer(Int64(attempt)),
                                    "idempotency_key": .string("\(state.runID)/\(id)/\(keyed)")])
        contexts.merge(frame.contexts) { _, new in new }
        contexts.merge(extra) { _, new in new }
        return ExpressionEvaluator(contexts: contexts, taint: state.redact)
    }

    /// The variables a journaled attempt ran with (the run's own unless it
    /// recorded others), under the values `--retry --var` gave its revert.
    private func ranWith(_ frame: Frame) async -> JSONValue {
        let ran = frame.vars ?? baseContexts["vars"] ?? .object([:])
        let retry = await state.retryVars
        guard !retry.isEmpty, case .object(var members) = ran else { return ran }
        members.merge(retry) { _, new in new }
        return .object(members)
    }

    /// What an attempt journals of its frame: the variables too when an
    /// operator has changed them since the run started.
    func journaled(_ frame: Frame) async -> JSONValue? {
        var frame = frame
        let now = JSONValue.object(await state.vars)
        if now != baseContexts["vars"] { frame.vars = now }
        return frame.journaled
    }

    /// Job env and step env, in that order.
    func environment(of step: Step) -> [EnvironmentVariable] {
        job.env + step.env
    }

    func atom(for action: Action) -> (any Atom)? {
        action.atomName.flatMap { registry[$0] }
    }

    /// The input the action's atom builds from these values.
    func input(for action: Action, values: ActionValues) throws(EvaluationError) -> JSONValue {
        if case .group = action { return .null }
        guard let atom = atom(for: action) else {
            throw EvaluationError(message: "no atom '\(action.atomName ?? action.keyword)' is registered")
        }
        return try atom.input(for: action, values: values)
    }

    /// `key`: this request's idempotency key (empty for a check); the
    /// context also carries the key of the execute attempt it belongs to.
    func context(for record: StepRecord, attempt: Int, key: String, phase: AtomPhase) -> AtomContext {
        var context = AtomContext(runID: state.runID, stepPath: record.path, attempt: attempt, idempotencyKey: key,
                    attemptKey: record.executeKey(runID: state.runID), mask: state.redact,
                    log: { [state] line in state.log(record, attempt: attempt, line: line) },
                    progress: { [state] fraction, note in
                        state.progress(record, attempt: attempt, fraction: fraction, note: note)
                    },
                    note: { [notes] text, data in notes.send(.init(stepID: record.id, text: text, data: data)) })
        context.withholdsOutputs = !(table[record.id]?.step.mask.isEmpty ?? true)
        context.phase = phase
        return context
    }
}
