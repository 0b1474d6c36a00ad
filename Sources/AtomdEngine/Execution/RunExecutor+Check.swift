import AtomdSpec

extension RunExecutor {
    /// Probes whether a step's effect is in the world: its own `check:`, or
    /// its plugin atom's check. Nil when the step has no usable check.
    ///
    /// Used after a failed execute, before a `converge` step, after a revert
    /// and (with the durable journal) on recovery.
    func check(_ step: Step, input: JSONValue?, outputs: JSONValue?, frame: Frame) async -> CheckResult? {
        guard let record = await state[step.id] else { return nil }
        let attempt = max(record.attempts, 1)
        let key = "\(state.runID)/\(step.id)/\(max(record.keyAttempt, 1))"
        let context = context(for: record, attempt: attempt, key: key)
        if let check = step.check {
            guard let atom = atom(for: check.action) else { return nil }
            // A probe built from outputs that were never recorded would ask
            // about nothing and could answer "absent" wrongly.
            var known = record
            known.outputs = outputs
            if let missing = missingOutputs(check, known) {
                return .unknown("the check needs output '\(missing)', which was never recorded")
            }
            let extra: [String: JSONValue] = ["outputs": outputs ?? .object([:])]
            let evaluator = await evaluator(for: step.id, frame: frame, attempt: attempt, extra: extra)
            let probeInput: JSONValue
            do {
                probeInput = try ActionInput(evaluator: evaluator, environment: environment(of: step)).resolve(check.action)
            } catch {
                return .unknown("cannot compute the check's input: \(error.message)")
            }
            return await probe(timeout: check.timeout ?? step.timeout) {
                try await atom.check(probeInput, outputs: outputs, context: context)
            }
        }
        guard case .plugin = step.action, let atom = atom(for: step.action), atom.capabilities.contains(.check),
              let input = input ?? record.input
        else { return nil }
        return await probe(timeout: step.timeout) { try await atom.check(input, outputs: outputs, context: context) }
    }

    private func probe(timeout: Duration?, _ body: @escaping @Sendable () async throws -> CheckResult) async -> CheckResult {
        switch await callWithTimeout(timeout, body) {
        case .success(let result): return result
        case .failure(let failure): return .unknown("check failed: \(failure)")
        }
    }

    /// Role 1: after a failed execute, decides whether the step must be reverted.
    func effectAfterFailure(_ step: Step, failure: CallFailure? = nil, frame: Frame) async -> StepRecord.Effect {
        if failure?.changedNothing == true {
            await state.note(step.id, "the call was refused, so it changed nothing")
            await state.update(step.id) { $0.nothingToUndo = "the failed call changed nothing" }
            return .none
        }
        let record = await state[step.id]
        guard let result = await check(step, input: record?.input, outputs: record?.outputs, frame: frame) else {
            return .possible
        }
        await state.note(step.id, "after the failure, check: \(describe(result))")
        if case .absent = result {
            await state.update(step.id) { $0.nothingToUndo = "check: absent" }
            return .none
        }
        return .possible
    }

    func describe(_ result: CheckResult) -> String {
        switch result {
        case .present: "present"
        case .absent: "absent"
        case .unknown(let why): "unknown (\(why))"
        }
    }
}
