import AtomdSpec

extension RunExecutor {
    /// After a rehearsal's compensation, and before `finally`: asks every
    /// step that ran its check and state probe again and compares the
    /// answers with what they said before the step first ran. Each
    /// difference is journaled as a note (data `rehearsal_difference`) and
    /// returned in the run's report. A step whose effect was already there
    /// (left as found) is expected to still be there, and one declared
    /// `revert: none` is not asked.
    func auditCompensation() async {
        let records = await state.records
        for id in table.main.flatMap(table.subtree) {
            // `revert: none` declares the step irreversible: compensation
            // leaves it, and so does the audit.
            guard let record = records[id], let step = table[id]?.step, step.group == nil, record.attempts > 0,
                  record.effect != .preexisting else { continue }
            if case .irreversible = step.revert { continue }
            if step.state != nil, let before = record.stateBefore {
                let now = await probeState(step, frame: Frame())
                if now != before {
                    await found(RehearsalDifference(step: id, probe: .state,
                                                    text: StateChange.describe(before: before, after: now)))
                }
            }
            guard let answer = await check(step, input: record.input, outputs: record.outputs, frame: Frame()) else { continue }
            switch (answer, record.before) {
            case (.absent, _), (.present, .present?):
                continue
            case (.present, _):
                let was = record.before.map { " (\($0.rawValue) before the step ran)" } ?? ""
                await found(RehearsalDifference(step: id, probe: .check, text: "check: still present\(was)"))
            case (.unknown, _) where record.outputs == nil:
                // Nothing was made that a check could ask about.
                continue
            case (.unknown(let why), _):
                // Not evidence of something left: said apart, with the reason.
                let difference = RehearsalDifference(step: id, probe: .check, text: "check: cannot tell (\(why))")
                await state.recordUndetermined(difference)
                await state.note(id, "rehearsal: cannot tell: \(difference.text)", data: .object(["rehearsal_undetermined": .string("check")]))
            }
        }
    }

    private func found(_ difference: RehearsalDifference) async {
        await state.recordDifference(difference)
        await state.note(difference.step, "rehearsal: left behind: \(difference.text)",
                         data: .object(["rehearsal_difference": .string(difference.probe.rawValue)]))
    }
}
