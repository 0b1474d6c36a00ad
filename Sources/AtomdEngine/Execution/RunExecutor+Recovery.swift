import AtomdSpec

extension RunExecutor {
    /// What to do with a step a resumed run found `running`.
    enum InDoubt {
        /// Resolved without running it: the job goes on or not.
        case finished(Bool)
        /// Run it again, with the interrupted attempt's idempotency key.
        case runAgain
    }

    /// DESIGN.md section 5: stop what the interrupted attempt left running.
    /// An `idempotent` step then runs again, under the same key, and its real
    /// outcome decides: a check says whether a change is there, not whether
    /// the step succeeded (`touch f && smoke-test`, cut during the smoke
    /// test, has its file and never passed its test). Any other step asks
    /// its check: present is success, absent runs it again, and with no
    /// usable check it fails (and is compensated, or paused for the operator).
    func resolveInDoubt(_ step: Step, _ record: StepRecord, atom: any Atom, scope: FailureScope,
                        frame: Frame) async -> InDoubt {
        let id = step.id
        let input = await restoredInput(step, record, frame: frame)
        let key = record.executeKey(runID: state.runID)
        await atom.stopInterrupted(input ?? .null, context: context(for: record, attempt: max(record.attempts, 1), key: key, phase: .execute))
        let intro = "the agent stopped during attempt \(record.attempts)"
        if step.idempotent {
            await state.note(id, "\(intro); idempotent, so it runs again with idempotency key \(key), and its outcome decides")
            return .runAgain
        }
        let probe = await check(step, input: input, outputs: record.outputs, frame: frame)
        switch probe {
        case .present? where record.before == .present:
            // Present now says nothing: it was present before the step ran.
            let message = "\(intro); its check found it present before the step ran, so whether the step changed "
                + "anything is unknown; it is not run again blindly, and left as found"
            return .finished(await fail(step, .error(message, exitCode: nil), effect: .preexisting, scope: scope, frame: frame))
        case .present(let outputs, let response)?:
            await state.note(id, "\(intro); check: present, so it took effect")
            return .finished(await settle(step, outputs: outputs, response: response, attempt: record.attempts, scope: scope, frame: frame))
        case .absent?:
            await state.note(id, "\(intro); check: absent, so it runs again with idempotency key \(key)")
            return .runAgain
        case .unknown(let why)?:
            return await withoutCheck(step, intro: "\(intro); check: unknown (\(why))", key: key, scope: scope, frame: frame)
        case nil:
            return await withoutCheck(step, intro: "\(intro) and it has no check", key: key, scope: scope, frame: frame)
        }
    }

    /// Steps a resumed run found running but did not re-enter, because a
    /// failure stopped new starts first, are settled before the run's
    /// outcome is decided; steps inside groups before their groups.
    func settleInterrupted() async {
        for id in table.main.flatMap(table.subtree).reversed() {
            await settle(id)
        }
    }

    /// Settles one such step as failed, its effect told by its check, so
    /// that compensation knows what to undo.
    func settle(_ id: String) async {
        guard let record = await state[id], record.status == .running, let step = table[id]?.step else { return }
        let message = "interrupted when the agent stopped, and not resumed because the run stopped first"
        guard step.group == nil, let atom = atom(for: step.action) else {
            await state.move(id, to: .failed, detail: message) { $0.error = message }
            return
        }
        let input = await restoredInput(step, record, frame: frame(of: record, or: Frame()))
        let key = record.executeKey(runID: state.runID)
        await atom.stopInterrupted(input ?? .null, context: context(for: record, attempt: max(record.attempts, 1), key: key, phase: .execute))
        let effect = await effectAfterFailure(step, frame: Frame())
        await state.move(id, to: .failed, detail: message) {
            $0.error = message
            $0.effect = effect
        }
    }

    private func withoutCheck(_ step: Step, intro: String, key: String, scope: FailureScope, frame: Frame) async -> InDoubt {
        let message = "\(intro); not marked idempotent, so it is not run again blindly "
            + "(whether it took effect is unknown; look for idempotency key \(key))"
        return .finished(await fail(step, .error(message, exitCode: nil), effect: .possible, scope: scope, frame: frame))
    }

    /// The journal keeps inputs with secrets redacted. When the recorded
    /// input lost a secret, it is resolved again, and used only if it
    /// redacts to exactly what was recorded (same job, same values).
    private func restoredInput(_ step: Step, _ record: StepRecord, frame: Frame) async -> JSONValue? {
        guard let recorded = record.input, recorded.json.contains(SecretMask.mask),
              let resolved = try? await resolveInput(step, frame: frame, attempt: max(record.attempts, 1),
                                                     keyAttempt: max(record.keyAttempt, 1)),
              state.redact(resolved) == recorded
        else { return record.input }
        await state.update(step.id) { $0.input = resolved }
        return resolved
    }
}
