import AtomdSpec

extension RunExecutor {
    /// Runs one step (or group) to its end. True when the job may go on.
    func executeStep(_ id: String, scope: FailureScope, frame: Frame) async -> Bool {
        guard let step = table[id]?.step, let status = await state[id]?.status else { return false }
        // Only a run resumed from its journal finds steps already under way.
        switch status {
        case .pending:
            return await start(step, scope: scope, frame: frame)
        case .running:
            if step.group != nil { return await executeGroup(step, scope: scope, frame: frame) }
            return await executeLocked(step, scope: scope, frame: frame)
        case .succeeded, .skipped, .ignored:
            return true
        case .failed:
            let goOn = await awaitOperator(step, message: await state[id]?.error ?? "failed", scope: scope, frame: frame)
            return await retryRequested(id, goOn) ? await start(step, scope: scope, frame: frame) : goOn
        case .reverting, .reverted, .revertFailed:
            return false
        }
    }

    /// Evaluates `if:`, then runs the group or the step's attempts.
    private func start(_ step: Step, scope: FailureScope, frame: Frame) async -> Bool {
        await state.waitWhileHeld()
        let id = step.id
        if let condition = step.condition {
            let evaluator = await evaluator(for: id, frame: frame, attempt: 1)
            do {
                let value = try evaluator.evaluate(condition)
                guard value.isTruthy else {
                    // A rehearsal fails the job at this point whether or not
                    // the step would run.
                    if let injected, injected.step == id {
                        await state.move(id, to: .running, attempt: 1) { $0.attempts += 1 }
                        return await fail(step, .error(injected.message, exitCode: nil, retryable: false), effect: .none,
                                          scope: scope, frame: frame)
                    }
                    await state.move(id, to: .skipped, detail: "condition is false: \(condition.source)")
                    return true
                }
            } catch {
                await state.move(id, to: .running, attempt: 1) { $0.attempts += 1 }
                let goOn = await fail(step, CallFailure.input("if: \(error.message)"), effect: .none, scope: scope, frame: frame)
                return await retryRequested(id, goOn) ? await start(step, scope: scope, frame: frame) : goOn
            }
        }
        if step.group != nil {
            return await executeGroup(step, scope: scope, frame: frame)
        }
        return await executeLocked(step, scope: scope, frame: frame)
    }

    /// Holds the step's `lock:` while it probes and runs, never while it
    /// waits: not during a retry's delay, not while the operator decides.
    private func executeLocked(_ step: Step, scope: FailureScope, frame: Frame) async -> Bool {
        let lock = step.lock.map { StepLock(name: $0, owner: "\(state.runID)/\(step.id)", locks: locks) }
        let result = await executeAttempts(step, lock: lock, scope: scope, frame: frame)
        await lock?.release()
        return result
    }

    /// The before probe (and converge), then attempts with retries and timeouts.
    private func executeAttempts(_ step: Step, lock: StepLock?, scope: FailureScope, frame: Frame) async -> Bool {
        let id = step.id
        guard let atom = atom(for: step.action) else { return false }
        /// Takes the lock again before the step touches the world.
        func locked() async -> Bool {
            guard let lock else { return true }
            // Another run may hold it for long: what this run did is stored first.
            await state.flush()
            guard !(await lock.acquire()) else { return true }
            await state.move(id, to: .running, attempt: (await state[id]?.attempts ?? 0) + 1) { $0.attempts += 1 }
            _ = await fail(step, .cancelled, effect: .none, scope: scope, frame: frame)
            return false
        }
        guard await locked() else { return false }
        let policy = step.retry ?? RetryPolicy()
        var attemptInSeries = 0
        // An attempt the agent was running when it stopped is run again with
        // its own idempotency key, so that the world sees one request.
        var reusedKey: Int?
        // The first attempt of the step that may have taken effect unseen
        // (it timed out, its answer was lost, a crash cut it), and its key:
        // a later refusal then proves nothing, and every later attempt (an
        // operator's retry too) goes out under that key after asking the
        // check. A new key would let an API make the thing twice, and the
        // check would look for the second one only.
        var inDoubt: (attempt: Int, key: Int)? = await state[id]?.doubtKey.map { ($0, $0) }
        if let record = await state[id], record.status == .running {
            switch await resolveInDoubt(step, record, atom: atom, scope: scope, frame: frame) {
            case .finished(let goOn):
                guard await retryRequested(id, goOn) else { return goOn }
            case .runAgain:
                reusedKey = record.keyAttempt
                attemptInSeries = min(record.attempts, max(policy.attempts, 1)) - 1
                inDoubt = inDoubt ?? (record.attempts, max(record.keyAttempt, 1))
                await doubt(id, key: max(record.keyAttempt, 1))
            }
        }
        while true {
            attemptInSeries += 1
            let attempt = (await state[id]?.attempts ?? 0) + 1
            let input: JSONValue
            let keyAttempt = reusedKey ?? attempt
            do {
                input = try await resolveInput(step, frame: frame, attempt: attempt, keyAttempt: keyAttempt)
            } catch {
                await state.move(id, to: .running, attempt: attempt) { $0.attempts = attempt }
                await lock?.release()
                let goOn = await fail(step, .input(error.message), effect: .none, scope: scope, frame: frame)
                guard await retryRequested(id, goOn), await locked() else { return goOn }
                attemptInSeries = 0
                continue
            }
            // From here until the step is journaled running, a stop counts
            // the attempt as under way: it waits for the check and state
            // probe before it, and never finds the run idle just as the
            // step's process is about to start. An attempt not begun when
            // the stop came does not begin.
            await state.beginCall(id)
            if attemptInSeries == 1, reusedKey == nil, await probedPresent(step, input: input, frame: frame) {
                await state.endCall()
                return true
            }
            if await state.isHeld {
                // A stop came while the step probed: it does not start (its
                // record is not running, so the next start probes again).
                await state.endCall()
                await state.beginCall()
            }
            reusedKey = nil
            let key = "\(state.runID)/\(id)/\(keyAttempt)"
            let ranIn = await journaled(frame)
            await state.move(id, to: .running, attempt: attempt, data: input, key: key) {
                $0.attempts = attempt
                $0.keyAttempt = keyAttempt
                $0.input = input
                $0.error = nil
                $0.retryContext = ranIn
                $0.revertAttempt = 0
            }
            await state.endCall()
            // Write-ahead: without a record of the start, the action must not run.
            guard let record = await state[id], await state.isRecording else { return false }
            let context = context(for: record, attempt: attempt, key: key, phase: .execute)
            // A step converge found already done is failed in place: a
            // rehearsal does not run again what production would skip.
            let foundDone = step.converge ? await state[id]?.before == .present : false
            let inPlace = injected?.when == .instead || foundDone
            let outcome: Result<AtomResult, CallFailure> = if let injected, injected.step == id, inPlace {
                .failure(.error(injected.message, exitCode: nil, retryable: false, changedNothing: true))
            } else {
                await callWithTimeout(step.timeout) { try await atom.execute(input, context: context) }
            }
            let goOn: Bool
            switch outcome {
            case .success(let result):
                goOn = await succeed(step, result: result, frame: frame, attempt: attempt, scope: scope)
            case .failure(let failure):
                let cancelled = await state.cancelRequested
                if failure.outcomeUnknown, inDoubt == nil {
                    inDoubt = (attempt, keyAttempt)
                    await doubt(id, key: keyAttempt)
                }
                if !cancelled, attemptInSeries < policy.attempts, policy.retries(failure) {
                    let wait = max(policy.delay(beforeAttempt: attemptInSeries + 1, random: Double.random(in: 0..<1)),
                                   failure.retryAfter ?? .zero)
                    // Only a definite failure, with no attempt in doubt
                    // before it, gets a new key.
                    reusedKey = inDoubt?.key
                    let doubt = inDoubt.map { doubt in
                        (doubt.attempt == attempt ? "its" : "attempt \(doubt.attempt)'s") + " outcome is unknown, so the check is asked, "
                            + "and the request repeated under idempotency key \(state.runID)/\(id)/\(doubt.key), "
                    }
                    await state.note(id, "attempt \(attempt) failed: \(failure); " + (doubt ?? "") + "retrying in \(wait.jobText)")
                    await lock?.release()
                    do {
                        try await Task.sleep(for: wait)
                        guard await locked() else { return false }
                        if inDoubt != nil, let settled = await settledBeforeRetry(step, input: input, attempt: attempt, scope: scope, frame: frame) {
                            goOn = settled
                            break
                        }
                        continue
                    } catch {
                        goOn = await fail(step, .cancelled, effect: .possible, scope: scope, frame: frame)
                        break
                    }
                }
                await recordStateAfter(step, frame: frame)
                let effect = await effectAfterFailure(step, failure: failure, inDoubtSince: inDoubt?.attempt, frame: frame)
                await lock?.release()
                goOn = await fail(step, cancelled ? .cancelled : failure, effect: effect, scope: scope, frame: frame)
            }
            guard await retryRequested(id, goOn), await locked() else { return goOn }
            attemptInSeries = 0
            // An operator's retry of a step in doubt: the same key, after the check.
            if let doubt = inDoubt {
                reusedKey = doubt.key
                let input = await state[id]?.input ?? .null
                if let settled = await settledBeforeRetry(step, input: input, attempt: doubt.attempt, scope: scope, frame: frame) {
                    return settled
                }
            }
        }
    }

    /// Marks the step in doubt from the attempt with `key` on, so that its
    /// failure journals it and a resumed run keeps the key.
    private func doubt(_ id: String, key: Int) async {
        await state.update(id) { if $0.doubtKey == nil { $0.doubtKey = key } }
    }

    /// Before repeating an attempt whose outcome is unknown: the step's
    /// check decides. Present settles the step as succeeded (nil when the
    /// check cannot tell, or found the effect before the step first ran, or
    /// says absent: the attempt is then repeated under the same key).
    private func settledBeforeRetry(_ step: Step, input: JSONValue, attempt: Int, scope: FailureScope, frame: Frame) async -> Bool? {
        let answer = await check(step, input: input, outputs: nil, frame: frame)
        guard let answer else { return nil }
        await state.note(step.id, "before repeating attempt \(attempt), check: \(describe(answer))")
        guard case .present(let outputs, let response) = answer, await state[step.id]?.before != .present else { return nil }
        return await settle(step, outputs: outputs, response: response, attempt: attempt, scope: scope, frame: frame)
    }

    /// A step whose check found its effect after an attempt with no answer
    /// succeeded: its declared outputs are computed from what the check
    /// reported (`outputs`) and the answer it read (`response`). An output
    /// that comes out null could not be recomputed: the step fails naming
    /// it, with its effect there to undo, rather than going on without it.
    func settle(_ step: Step, outputs: JSONValue?, response: JSONValue?, attempt: Int, scope: FailureScope, frame: Frame) async -> Bool {
        let recorded = await state[step.id]?.outputs
        let result = AtomResult(outputs: outputs ?? recorded ?? .object([:]), response: response)
        return await succeed(step, result: result, frame: frame, attempt: attempt, scope: scope, settled: true)
    }

    /// The action's input. The expression contexts (a snapshot of every
    /// step's state) are built only when the action has expressions, and
    /// released before the next transition, so a long job never copies them.
    func resolveInput(_ step: Step, frame: Frame, attempt: Int, keyAttempt: Int) async throws(EvaluationError) -> JSONValue {
        let needsContexts = step.action.templates.contains(where: \.hasExpressions)
            || environment(of: step).contains { $0.value.hasExpressions }
        let evaluator = needsContexts
            ? await evaluator(for: step.id, frame: frame, attempt: attempt, keyAttempt: keyAttempt)
            : ExpressionEvaluator(contexts: [:])
        return try input(for: step.action, values: ActionValues(evaluator: evaluator, environment: environment(of: step)))
    }

    /// After `fail` let the job go on, the step is still `failed` only when
    /// the operator chose retry.
    func retryRequested(_ id: String, _ goOn: Bool) async -> Bool {
        goOn ? await state[id]?.status == .failed : false
    }

    /// The before probes (DESIGN.md section 3, role 0), kept for the step's
    /// start record: its `state:`, then its check, each asked once per
    /// series of attempts. A check that needs the step's own outputs cannot
    /// be asked yet and costs nothing. True when `converge: true` skipped the
    /// step because its effect is already there: it is then never reverted.
    private func probedPresent(_ step: Step, input: JSONValue, frame: Frame) async -> Bool {
        let ranIn = await journaled(frame)
        await state.update(step.id) { $0.retryContext = ranIn }
        if step.state != nil, await state[step.id]?.stateBefore == nil {
            let found = await probeState(step, frame: frame)
            await state.update(step.id) { $0.stateBefore = found }
        }
        guard await state[step.id]?.before == nil else { return false }
        let answer = await check(step, input: input, outputs: nil, frame: frame)
        if step.converge, case .present(let outputs, _)? = answer, injected?.step != step.id {
            for name in step.mask { if let value = outputs?[name] { state.redact.add(value) } }
            await state.move(step.id, to: .skipped, detail: "skipped (already present)", data: outputs) {
                $0.effect = .preexisting
                $0.outputs = outputs
                $0.input = input
            }
            return true
        }
        if step.converge { await state.note(step.id, "converge: \(answer.map(describe) ?? "no check"); running the step") }
        guard let answer else { return false }
        if case .present = answer {
            await state.note(step.id, "before the step ran, check: present; whatever happens, it is left as found")
        }
        await state.update(step.id) { $0.before = BeforeProbe(answer) }
        return false
    }

    /// Computes declared outputs and records success.
    /// `settled`: the step was found done by its check, not answered by its
    /// own call, so a declared output that comes out null was lost.
    func succeed(_ step: Step, result: AtomResult, frame: Frame, attempt: Int, scope: FailureScope, settled: Bool = false) async -> Bool {
        await recordStateAfter(step, frame: frame)
        await recordReportedState(step, result)
        var outputs = result.outputs
        if !step.outputs.isEmpty {
            // A recovered step has only its recorded outputs to read from.
            let extra: [String: JSONValue] = ["outputs": result.outputs, "response": result.response ?? result.outputs]
            let evaluator = await evaluator(for: step.id, frame: frame, attempt: attempt, extra: extra)
            do {
                outputs = try evaluator.renderOutputs(step.outputs)
            } catch {
                await state.update(step.id) { $0.outputs = result.outputs }
                return await fail(step, .input("outputs: \(error.message)"), effect: .made, scope: scope, frame: frame)
            }
            let lost = settled ? step.outputs.map(\.name).filter { outputs[$0] == .null } : []
            if !lost.isEmpty {
                await state.update(step.id) { $0.outputs = outputs }
                let message = "its check found the effect, but output\(lost.count == 1 ? "" : "s") \(lost.joined(separator: ", ")) "
                    + "cannot be recomputed from the check's answer (the step's own answer was lost); "
                    + "compute \(lost.count == 1 ? "it" : "them") from what the check reads (docs/engine.md, \"Settled by its check\")"
                return await fail(step, .error(message, exitCode: nil, retryable: false), effect: .made, scope: scope, frame: frame)
            }
        }
        if let injected, injected.step == step.id, injected.when == .after {
            await state.update(step.id) { $0.outputs = outputs }
            return await fail(step, .error(injected.message, exitCode: nil, retryable: false), effect: .made, scope: scope, frame: frame)
        }
        for name in step.mask { state.redact.add(outputs[name]) }
        var data = await state[step.id]?.stateData ?? [:]
        data["outputs"] = outputs
        if let details = result.details { data["details"] = details }
        await state.move(step.id, to: .succeeded, data: .object(data)) {
            $0.outputs = outputs
            // Present before it ran: the run did not make it, so it never undoes it.
            $0.effect = $0.before == .present ? .preexisting : .made
        }
        return true
    }

    /// Records a final failure and applies `continue_on_error` and
    /// `on_failure: pause`. True when the job goes on (ignored, or the
    /// operator chose retry or skip).
    func fail(_ step: Step, _ failure: CallFailure, effect: StepRecord.Effect, scope: FailureScope, frame: Frame) async -> Bool {
        let id = step.id
        let message = failure.description
        let cancelled = if case .cancelled = failure { true } else { false }
        var data = await state[id]?.stateData ?? [:]
        // Outputs a failed step has (computed before a later failure, or
        // found by its check) are what its revert reads: journaled with the
        // failure, so that a crash during compensation does not lose them;
        // and so is an attempt in doubt, whose key a retry must reuse.
        if let outputs = await state[id]?.outputs, outputs != .object([:]) { data["outputs"] = outputs }
        if let key = await state[id]?.doubtKey { data["in_doubt_key"] = .integer(Int64(key)) }
        let stateData: JSONValue? = data.isEmpty ? nil : .object(data)
        // An injected failure must reach compensation, which is what it tests.
        if step.continueOnError, !cancelled, injected?.step != id {
            await state.move(id, to: .ignored, detail: message, data: stateData) {
                $0.error = message
                $0.effect = effect
            }
            return true
        }
        await state.move(id, to: .failed, detail: message, data: stateData) {
            $0.error = message
            $0.effect = effect
        }
        guard !cancelled else { return false }
        return await awaitOperator(step, message: message, scope: scope, frame: frame)
    }

    /// Under `on_failure: pause`, waits for the operator's decision on a
    /// failed step. True when the job goes on (retry or skip).
    func awaitOperator(_ step: Step, message: String, scope: FailureScope, frame: Frame) async -> Bool {
        let id = step.id
        guard job.onFailure == .pause, !frame.inFinally, step.group == nil, !(await state.cancelRequested) else { return false }
        switch await state.awaitDecision(for: id, reason: "step '\(id)' failed: \(message); waiting for the operator") {
        case .retry:
            await state.goOn()
            return true
        case .skip:
            await state.move(id, to: .skipped, detail: "skipped by the operator after: \(message)")
            await state.goOn()
            return true
        case .revert:
            scope.halt()
            return false
        case .cancel:
            await state.requestCancel()
            return false
        case .rollback:
            // The rollback decides what runs next; the step stays failed
            // unless it is on the rollback's path.
            return false
        }
    }
}
