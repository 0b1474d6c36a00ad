import AtomdSpec

extension RunExecutor {
    /// Probes whether a step's effect is in the world: its own `check:`, or
    /// its plugin atom's check. Nil when the step has no usable check.
    ///
    /// Used before a step first runs, after a failed execute, after a revert
    /// and on recovery, always in the frame of the step's latest attempt
    /// and with no idempotency key (a probe changes nothing).
    func check(_ step: Step, input: JSONValue?, outputs: JSONValue?, frame live: Frame) async -> CheckResult? {
        // Most steps have no check at all: answer that before asking the run
        // for anything (this runs before every step).
        if step.check == nil {
            guard let atom = atom(for: step.action), atom.capabilities.contains(.check) else { return nil }
        }
        guard let record = await state[step.id] else { return nil }
        let attempt = max(record.attempts, 1)
        let context = context(for: record, attempt: attempt, key: "", phase: .check)
        let frame = frame(of: record, or: live)
        if let check = step.check {
            guard let atom = atom(for: check.action) else { return nil }
            // A probe built from outputs that were never recorded would ask
            // about nothing and could answer "absent" wrongly.
            var known = record
            known.outputs = outputs
            if let missing = missingOutputs(check, known) {
                return .unknown("the check needs \(missing), which was never recorded")
            }
            let extra: [String: JSONValue] = ["outputs": outputs ?? .object([:]), "state": record.stateContext]
            let evaluator = await evaluator(for: step.id, frame: frame, attempt: attempt, extra: extra)
            let probeInput: JSONValue
            do {
                probeInput = try self.input(for: check.action, values: ActionValues(evaluator: evaluator, environment: environment(of: step)))
            } catch {
                return .unknown("cannot compute the check's input: \(error.message)")
            }
            return await probe(timeout: check.timeout ?? step.timeout) {
                try await atom.check(probeInput, outputs: outputs, context: context)
            }
        }
        guard let atom = atom(for: step.action), atom.capabilities.contains(.check),
              let input = input ?? record.input
        else { return nil }
        return await probe(timeout: step.timeout) { try await atom.check(input, outputs: outputs, context: context) }
    }

    private func probe(timeout: Duration?, _ body: @escaping @Sendable () async throws -> CheckResult) async -> CheckResult {
        await state.flush()
        switch await callWithTimeout(timeout, body) {
        case .success(let result): return result
        case .failure(let failure): return .unknown("check failed: \(failure)")
        }
    }

    /// Role 1: after a failed execute, decides whether the step must be reverted.
    /// `inDoubtSince`: an earlier attempt of the series whose outcome is
    /// unknown; the last attempt's refusal then does not clear the step.
    func effectAfterFailure(_ step: Step, failure: CallFailure? = nil, inDoubtSince: Int? = nil, frame: Frame) async -> StepRecord.Effect {
        if failure?.changedNothing == true, let inDoubtSince {
            await state.note(step.id, "the last call was refused, but attempt \(inDoubtSince)'s outcome is unknown, so the step may have changed something")
        } else if failure?.changedNothing == true {
            await state.note(step.id, "the call was refused, so it changed nothing")
            await state.update(step.id) { $0.nothingToUndo = "the failed call changed nothing" }
            return .none
        }
        let record = await state[step.id]
        if stateUnchanged(record) {
            await state.note(step.id, "its state did not change, so there is nothing to undo")
            await state.update(step.id) { $0.nothingToUndo = "state unchanged" }
            return .none
        }
        guard let result = await check(step, input: record?.input, outputs: record?.outputs, frame: frame) else {
            return .possible
        }
        await state.note(step.id, "after the failure, check: \(describe(result))")
        switch result {
        case .absent:
            await state.update(step.id) { $0.nothingToUndo = "check: absent" }
            return .none
        case .present where record?.before == .present:
            // Never destroy what the run did not make.
            await state.update(step.id) { $0.nothingToUndo = Self.foundPresent }
            return .preexisting
        case .present(let outputs, let response):
            await keepFoundOutputs(step, outputs: outputs, response: response, frame: frame)
            return .possible
        case .unknown:
            return .possible
        }
    }

    /// What a check found for a failed step is what its revert needs (the
    /// id of a server whose create timed out): the check's outputs, and the
    /// step's declared outputs computed from the answer it read, are kept
    /// over what the step recorded. Outputs that cannot be computed from it
    /// are left out (a revert reading one fails naming it).
    private func keepFoundOutputs(_ step: Step, outputs: JSONValue?, response: JSONValue?, frame: Frame) async {
        guard outputs != nil || response != nil, let record = await state[step.id] else { return }
        var kept: [String: JSONValue] = [:]
        if case .object(let recorded)? = record.outputs { kept = recorded }
        if case .object(let reported)? = outputs { kept.merge(reported) { _, new in new } }
        if !step.outputs.isEmpty {
            let extra: [String: JSONValue] = ["outputs": outputs ?? record.outputs ?? .object([:]), "response": response ?? outputs ?? .null]
            let evaluator = await evaluator(for: step.id, frame: frame, attempt: max(record.attempts, 1), extra: extra)
            for output in step.outputs {
                if let value = try? evaluator.render(output.value), value != .null { kept[output.name] = value }
            }
        }
        for name in step.mask { if let value = kept[name] { state.redact.add(value) } }
        let found = JSONValue.object(kept)
        await state.update(step.id) { $0.outputs = found }
        await state.note(step.id, "the check's answer gives its revert: \(kept.keys.sorted().joined(separator: ", "))")
    }

    static let foundPresent = "left as found: its check found it present before the step ran"

    func describe(_ result: CheckResult) -> String {
        switch result {
        case .present: "present"
        case .absent: "absent"
        case .unknown(let why): "unknown (\(why))"
        }
    }
}
