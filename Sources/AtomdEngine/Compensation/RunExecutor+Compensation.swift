import AtomdSpec

extension RunExecutor {
    /// Reverts sibling steps in the reverse of how they ran: a sequence newest
    /// first, a parallel group's branches together, a graph group in reverse
    /// dependency order (a step reverts once every step that needed it has).
    /// Groups revert inside-out. Returns false when a revert failed: then no
    /// further revert starts, and the run ends `revert_failed`.
    func compensateList(_ ids: [String], mode: Group.Mode) async -> Bool {
        switch mode {
        case .sequence:
            for id in ids.reversed() {
                guard await compensateStep(id) else { return false }
            }
            return true
        case .parallel:
            return await inDependencyOrder(ids, waitingFor: [:], limit: Int.max, beforeWaiting: { await state.flush() }) { id in
                await compensateStep(id)
            }
        case .graph:
            // Reverse edges: a step waits for the steps that need it.
            var dependents: [String: [String]] = [:]
            for id in ids {
                for need in table[id]?.step.needs.map(\.id) ?? [] { dependents[need, default: []].append(id) }
            }
            return await inDependencyOrder(ids, waitingFor: dependents, limit: Int.max, beforeWaiting: { await state.flush() }) { id in
                await compensateStep(id)
            }
        }
    }

    /// Reverts one step (or, inside-out, one group) if it changed anything.
    func compensateStep(_ id: String) async -> Bool {
        guard table[id]?.step.group == nil else {
            await state.waitWhileHeld()
            guard await state.isRecording else { return false }
            return await compensateGroup(id)
        }
        // A stop waits for what starts here (a settling check, the revert,
        // its confirming check) to finish and be journaled, as it waits for
        // a running execute: the next start must not run a finished revert
        // again. Groups are not counted: their children wait for the stop.
        await state.beginCall()
        let reverted = await compensateLeaf(id)
        await state.endCall()
        return reverted
    }

    private func compensateLeaf(_ id: String) async -> Bool {
        guard await state.isRecording else { return false }
        await settle(id)
        guard let node = table[id], let record = await state[id] else { return true }
        let step = node.step
        return await compensateLeaf(step, record)
    }

    private func compensateGroup(_ id: String) async -> Bool {
        await settle(id)
        guard let node = table[id], let group = node.step.group, let record = await state[id] else { return true }
        guard record.status != .pending, record.status != .reverted else { return true }
        guard await hasEffects(node.children) else {
            // Resumed after its steps were reverted but before it was.
            if record.status == .reverting { await state.move(id, to: .reverted) { $0.effect = .undone } }
            return true
        }
        if record.status != .reverting { await state.move(id, to: .reverting) }
        let reverted = await compensateList(node.children, mode: group.mode)
        await state.move(id, to: reverted ? .reverted : .revertFailed) {
            $0.effect = reverted ? .undone : $0.effect
        }
        return reverted
    }

    private func compensateLeaf(_ step: Step, _ record: StepRecord) async -> Bool {
        let id = step.id
        if record.status == .revertFailed {
            // Final (DESIGN.md section 5): a resumed run never runs a failed
            // revert again on its own, or the outcome would depend on when
            // a crash hit. Only the operator's retry does.
            await state.markRevertFailure(record.error ?? "the revert of step '\(id)' failed")
            return false
        }
        switch record.effect {
        case .none, .undone:
            if record.status == .failed || record.status == .ignored {
                await state.update(id) { $0.compensation = "nothing to undo" + ($0.nothingToUndo.map { " (\($0))" } ?? "") }
            }
            return true
        case .preexisting:
            let converged = record.status == .skipped
            await state.update(id) {
                $0.compensation = converged ? "left in place (converged: it was there before)" : Self.foundPresent
            }
            await state.note(id, converged ? "converged step: it was present before the run, so it is not reverted"
                                           : "its check found it present before the step ran, so it is not reverted")
            return true
        case .made, .possible:
            return await revert(step, record)
        }
    }

    private func hasEffects(_ ids: [String]) async -> Bool {
        for id in ids.flatMap(table.subtree) {
            guard let record = await state[id] else { continue }
            if record.effect == .made || record.effect == .possible { return true }
            // A resumed run's step caught mid-way must be walked to settle it.
            if record.status == .reverting || record.status == .running { return true }
        }
        return false
    }

    private enum RevertPlan {
        case irreversible(String)
        case action(AuxiliaryAction)
        case atom(any Atom)
    }

    private func plan(for step: Step, input: JSONValue?) -> RevertPlan {
        switch step.revert {
        case .irreversible:
            return .irreversible("left in place (revert: none)")
        case .action(let auxiliary):
            return .action(auxiliary)
        case .unspecified:
            if let atom = atom(for: step.action), atom.providesRevert(for: input ?? .null) {
                return .atom(atom)
            }
            return .irreversible("left in place (no revert)")
        }
    }

    private func revert(_ step: Step, _ record: StepRecord) async -> Bool {
        let id = step.id
        let revertPlan = plan(for: step, input: record.input)
        if case .irreversible(let why) = revertPlan {
            await state.update(id) { $0.compensation = why }
            await state.note(id, "irreversible: \(why)")
            return true
        }
        if record.status != .reverting, !(await revertDespiteDrift(step, record)) { return true }
        let policy = revertPolicy(revertPlan)
        // A resumed run finds the revert that was under way: what it left
        // running is stopped, then the interrupted attempt runs again under
        // its own key.
        // An operator's retry (`--retry`) numbers its attempt past the
        // policy's: it runs once, under a key no attempt has used.
        let first = record.status == .reverting ? max(record.revertAttempt, 1) : 1
        if record.status == .reverting {
            await stopInterruptedRevert(revertPlan, record: record, key: record.revertKey(runID: state.runID, attempt: first))
        } else {
            await state.move(id, to: .reverting, key: record.revertKey(runID: state.runID, attempt: 1)) { $0.revertAttempt = 1 }
        }
        guard await state.isRecording else { return false }
        if case .action(let auxiliary) = revertPlan, let missing = missingOutputs(auxiliary, record) {
            return await revertFailed(id, "the revert of step '\(id)' needs \(missing), which was never recorded; "
                                         + "look for what the step made with idempotency key \(record.executeKey(runID: state.runID))")
        }
        var failure = ""
        attempts: for attempt in first...max(first, policy.attempts) {
            // Aborted by a stop that timed out: nothing more starts, and the
            // journal keeps the revert as interrupted for the next start.
            guard await state.isRecording else { return false }
            let key = record.revertKey(runID: state.runID, attempt: attempt)
            let context = context(for: record, attempt: attempt, key: key, phase: .revert)
            let result: Result<Void, CallFailure>
            switch revertPlan {
            case .action(let auxiliary):
                result = await runRevertAction(step, auxiliary, record: record, context: context)
            case .atom(let atom):
                let input = record.input ?? .null, outputs = record.outputs
                result = await callWithTimeout(step.timeout) { try await atom.revert(input, outputs: outputs, context: context) }
            case .irreversible:
                result = .success(())
            }
            switch result {
            case .success:
                return await confirmReverted(step)
            case .failure(let error):
                failure = error.description
                guard attempt < policy.attempts, policy.retries(error) else { break attempts }
                let wait = policy.delay(beforeAttempt: attempt + 1, random: Double.random(in: 0..<1))
                // Journaled with the next attempt's number: recovery re-runs
                // that attempt under its own key.
                await state.update(id) { $0.revertAttempt = attempt + 1 }
                await state.note(id, "revert attempt \(attempt) failed: \(failure); retrying in \(wait.jobText)",
                                 data: .object(["revert_attempt": .integer(Int64(attempt + 1))]))
                // A stop does not wait out the delay: the next attempt is
                // journaled, so the next start runs it.
                await state.endCall()
                try? await Task.sleep(for: wait)
                await state.beginCall()
            }
        }
        return await revertFailed(id, "the revert of step '\(id)' failed: \(failure)")
    }

    private func stopInterruptedRevert(_ plan: RevertPlan, record: StepRecord, key: String) async {
        let atom: (any Atom)? = switch plan {
        case .action(let auxiliary): atom(for: auxiliary.action)
        case .atom(let atom): atom
        case .irreversible: nil
        }
        await atom?.stopInterrupted(record.input ?? .null, context: context(for: record, attempt: 1, key: key, phase: .revert))
    }

    private func revertPolicy(_ plan: RevertPlan) -> RetryPolicy {
        if case .action(let auxiliary) = plan, let policy = auxiliary.retry { return policy }
        return job.defaults.retry ?? RetryPolicy()
    }

    private func runRevertAction(_ step: Step, _ auxiliary: AuxiliaryAction, record: StepRecord,
                                 context: AtomContext) async -> Result<Void, CallFailure> {
        guard let atom = atom(for: auxiliary.action) else { return .failure(.error("no atom for the revert", exitCode: nil)) }
        let extra: [String: JSONValue] = ["outputs": record.outputs ?? .object([:]), "state": record.stateContext]
        let evaluator = await evaluator(for: step.id, frame: frame(of: record, or: Frame()), attempt: context.attempt, extra: extra)
        let input: JSONValue
        do {
            input = try self.input(for: auxiliary.action, values: ActionValues(evaluator: evaluator, environment: environment(of: step)))
        } catch {
            return .failure(.input(error.message))
        }
        return await callWithTimeout(auxiliary.timeout ?? step.timeout) {
            _ = try await atom.execute(input, context: context)
        }
    }

    /// Role 4 of check: after a revert, present means the undo did not take.
    private func confirmReverted(_ step: Step) async -> Bool {
        let record = await state[step.id]
        if let result = await check(step, input: record?.input, outputs: record?.outputs, frame: Frame()),
           case .present = result {
            return await revertFailed(step.id, "the revert of step '\(step.id)' ran, but its check still finds the effect")
        }
        await state.move(step.id, to: .reverted) {
            $0.effect = .undone
            $0.compensation = "reverted"
        }
        return true
    }

    private func revertFailed(_ id: String, _ message: String) async -> Bool {
        await state.markRevertFailure(message)
        await state.move(id, to: .revertFailed, detail: message) {
            $0.error = message
            $0.compensation = "revert failed: left behind"
        }
        return false
    }

    /// What a revert or check reads of the step's record that is not
    /// there: `output 'id'`, or `state.before.target` when the state probe
    /// failed or did not report that key. Nil when all of it is known.
    func missingOutputs(_ auxiliary: AuxiliaryAction, _ record: StepRecord) -> String? {
        let recorded = record.outputs ?? .object([:])
        for template in auxiliary.action.templates {
            for expression in template.expressions {
                for read in expression.recordReads {
                    switch read {
                    case .output(let key) where recorded[key] == .null:
                        return "output '\(key)'"
                    case .state(let when, let key) where (when == "before" ? record.stateBefore : record.stateAfter)?[key] ?? .null == .null:
                        return "state.\(when).\(key)"
                    default:
                        continue
                    }
                }
            }
        }
        return nil
    }
}
