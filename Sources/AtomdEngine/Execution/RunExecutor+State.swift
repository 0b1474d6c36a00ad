import AtomdSpec

extension RunExecutor {
    /// The largest state a probe may report: it is journaled with the step.
    static let stateLimit = 64 << 10

    /// Runs the step's `state:` probe in the frame of its latest attempt,
    /// with no idempotency key (a probe changes nothing). Nil when the step
    /// has none, or, with a note saying why, when the probe failed: the
    /// state is then unknown and no rule that compares states applies.
    func probeState(_ step: Step, frame live: Frame) async -> JSONValue? {
        guard let probe = step.state, let record = await state[step.id], let atom = atom(for: probe.action) else { return nil }
        let attempt = max(record.attempts, 1)
        let extra: [String: JSONValue] = ["outputs": record.outputs ?? .object([:])]
        let evaluator = await evaluator(for: step.id, frame: frame(of: record, or: live), attempt: attempt, extra: extra)
        let input: JSONValue
        do {
            input = try self.input(for: probe.action, values: ActionValues(evaluator: evaluator, environment: environment(of: step)))
        } catch {
            await state.note(step.id, "state probe: cannot compute its input: \(error.message)")
            return nil
        }
        let context = context(for: record, attempt: attempt, key: "", phase: .state)
        await state.flush()
        switch await callWithTimeout(probe.timeout ?? step.timeout, { try await atom.state(input, context: context) }) {
        case .success(let found):
            guard case .object = found, found.json.utf8.count <= Self.stateLimit else {
                await state.note(step.id, "state probe: its answer is not a JSON object of at most 64 KiB; the state is unknown")
                return nil
            }
            return found
        case .failure(let failure):
            await state.note(step.id, "state probe failed: \(failure); the state is unknown")
            return nil
        }
    }

    /// Probes the state after an attempt. It is journaled with the step's
    /// outcome (`stateData`), which `atomd show` prints and recovery reads.
    func recordStateAfter(_ step: Step, frame: Frame) async {
        guard step.state != nil else { return }
        let after = await probeState(step, frame: frame)
        await state.update(step.id) { $0.stateAfter = after }
    }

    /// A plugin atom reports old and new state itself.
    func recordReportedState(_ step: Step, _ result: AtomResult) async {
        guard step.state == nil, result.oldState != nil || result.newState != nil else { return }
        await state.update(step.id) {
            $0.stateBefore = result.oldState
            $0.stateAfter = result.newState
        }
    }

    /// A failed step whose state did not change has nothing to undo.
    func stateUnchanged(_ record: StepRecord?) -> Bool {
        guard let before = record?.stateBefore, let after = record?.stateAfter else { return false }
        return before == after
    }

    /// Before a revert, the state is probed again: a difference from the
    /// state after the step ran means someone changed it since. That is an
    /// event and, under `on_failure: pause`, a question to the operator.
    /// False when the operator chose to leave the step as it is now.
    func revertDespiteDrift(_ step: Step, _ record: StepRecord) async -> Bool {
        guard step.state != nil, let after = record.stateAfter,
              let now = await probeState(step, frame: Frame()), now != after
        else { return true }
        let change = StateChange.describe(before: after, after: now)
        await state.note(step.id, "state changed since the step ran: \(change)",
                         data: .object(["state_drift": .object(["after": after, "now": now])]))
        guard job.onFailure == .pause else { return true }
        let reason = "the state of step '\(step.id)' changed since it ran (\(change)); waiting for the operator: "
            + "retry or revert reverts it anyway, skip leaves it as it is now"
        // The operator may take long: a stop does not wait for them (the
        // revert has not started; the next start asks again).
        await state.endCall()
        let decision = await state.awaitRevertDecision(for: step.id, reason: reason)
        await state.beginCall()
        switch decision {
        case .skip:
            await state.update(step.id) { $0.compensation = "left as it is now: its state changed since it ran; the operator chose skip" }
            await state.note(step.id, "the operator chose to leave it; it is not reverted")
            return false
        case .retry, .revert, .cancel, .rollback:
            return true
        }
    }
}

/// How a step's state changed, in one line: `target: /srv/a → /srv/b`.
public enum StateChange {
    public static func describe(before: JSONValue?, after: JSONValue?) -> String {
        guard case .object(let old)? = before, case .object(let new)? = after else {
            return "\(before.map(text) ?? "unknown") → \(after.map(text) ?? "unknown")"
        }
        let changed = Set(old.keys).union(new.keys).sorted().filter { old[$0] != new[$0] }
        guard !changed.isEmpty else { return "unchanged" }
        return changed.map { "\($0): \(old[$0].map(text) ?? "(none)") → \(new[$0].map(text) ?? "(none)")" }
            .joined(separator: "; ")
    }

    private static func text(_ value: JSONValue) -> String {
        if case .string(let text) = value { return text.isEmpty ? "\"\"" : text }
        return value.json
    }
}
