import AtomdSpec

extension RunExecutor {
    /// Carries out a rollback once the main steps have unwound: journals
    /// its plan, reverts (TOKEN) newest first, clears the records it goes
    /// back over, journals that it is done, then pauses or goes on. Each
    /// part is idempotent, so a restart that finds the plan without its end
    /// runs it again and it happens exactly once. False when a revert
    /// failed: the run is then `revert_failed` at that step.
    func rollBack(_ asked: RollbackPlan, recovered: Bool) async -> Bool {
        var plan = asked
        if !recovered {
            // The run moved on between the request and now (a step that was
            // about to start did, a reserved rollback's group has ended):
            // the rules decide again, and the plan is made from the run as
            // it stands now.
            let request = RollbackRequest(target: plan.target, start: plan.mode == .token && !plan.start.isEmpty ? plan.start : nil,
                                          mode: plan.mode, resume: plan.resume, keep: plan.kept)
            do {
                plan = try await state.rules(autoResume: job.rollback.autoResume).plan(request)
            } catch {
                await state.note(plan.target, "the rollback to '\(plan.target)' was not done: \(error)",
                                 data: .object(["rollback_dropped": .bool(true)]))
                await state.pauseAfterRollback("paused; the rollback was not done")
                await state.finishedRollback()
                return true
            }
            await state.note(plan.target, "operator rollback \(Self.describe(plan))", data: .object(["rollback": plan.journaled]))
            for id in plan.kept {
                await state.note(id, "kept in place by the rollback to '\(plan.target)': not reverted, not run again")
            }
        }
        if await state.status != .rollingBack {
            await state.setRun(.rollingBack, detail: "rolling back \(Self.describe(plan))")
        }
        for id in plan.reverts {
            guard await compensateStep(id) else {
                await state.setRun(.revertFailed, detail: await state.revertFailure)
                return false
            }
        }
        for id in plan.resets where await state[id]?.status != .pending {
            await state.move(id, to: .pending, detail: "rolled back") { $0.clearForRollback() }
        }
        // Paused (or resumed) before the end is journaled: a restart between
        // the two finds the rollback unfinished and the pause in place.
        if plan.resume {
            await state.goOn("rolled back to '\(plan.target)'; going on")
        } else {
            await state.pauseAfterRollback("rolled back to '\(plan.target)'; `atomd resume RUN` runs it again")
        }
        await state.note(plan.target, "rolled back to '\(plan.target)'", data: .object(["rollback_done": .bool(true)]))
        await state.finishedRollback()
        return true
    }

    private static func describe(_ plan: RollbackPlan) -> String {
        plan.mode == .token ? "from '\(plan.start)' back to '\(plan.target)', reverting \(plan.reverts.joined(separator: ", "))"
            + (plan.kept.isEmpty ? "" : ", keeping \(plan.kept.joined(separator: ", "))")
                            : "to '\(plan.target)' without reverting (ANY mode)"
    }
}

extension StepRecord {
    /// What a step that runs again must not see of its earlier run. Its
    /// attempts count on, so its next attempt has an idempotency key of its
    /// own.
    mutating func clearForRollback() {
        effect = .none
        outputs = nil
        error = nil
        before = nil
        doubtKey = nil
        retryContext = nil
        revertAttempt = 0
        stateBefore = nil
        stateAfter = nil
        completion = nil
        compensation = nil
        nothingToUndo = nil
    }
}
