/// What a crash during a step would leave to chance (docs/journal.md, "Steps
/// in doubt"). A step that is not `idempotent` and is in doubt after a crash
/// is settled by its check alone: present counts it as succeeded. Said by
/// `atomd validate` and `atomd rehearse --crash`.
public enum InDoubtWarnings {
    /// `run:` steps whose check stands for a script that goes on after the
    /// change the check looks at (`touch f && smoke-test`, checked with
    /// `test -e f`): cut short after the change, the check finds it and the
    /// step counts as succeeded, though what came after never ran or never
    /// passed. The script's last command (tidying up aside) must be about
    /// what the check names; a script that writes aside and renames into
    /// place at the end is.
    /// Beyond these, a script is not read for the warning: its reading
    /// (and the search of a check's text for each word) grows faster than
    /// the script, and a hostile one would hold `validate` for minutes.
    static let maxScriptBytes = 8 * 1024, maxPieces = 64

    public static func checksThatCannotTell(_ job: Job) -> [Diagnostic] {
        job.allSteps.compactMap { step in
            guard case .run(let shell) = step.action, case .run(let check)? = step.check?.action, !step.idempotent,
                  shell.script.source.utf8.count <= maxScriptBytes, check.script.source.utf8.count <= maxScriptBytes else { return nil }
            let acting = ScriptActions(shell.script).commands
            guard acting.count > 1 else { return nil }
            let last = acting.last { !ScriptActions.tidying.contains($0.name) } ?? acting[acting.count - 1]
            let checked = check.script.source
            guard !last.pieces.prefix(maxPieces).contains(where: checked.contains) else { return nil }
            return Diagnostic(
                file: job.file, location: step.location,
                message: "step '\(step.id)': its script ends with `\(last.name)`, which its check does not look at: after a crash "
                    + "during the step, the check alone decides whether it succeeded, and finding the earlier change counts "
                    + "`\(last.name)` as done",
                hint: "split it into steps (one step, one change, each with its check), or mark it `idempotent: true` to run it again when in doubt")
        }
    }

    /// Steps with `revert: none` and no check that are not `idempotent`
    /// (typically read-only ones: a smoke test, a query): in doubt after a
    /// crash, nothing can tell whether they ran, so they fail, and the whole
    /// run is compensated. `bringsCheck`: the step's atom has a check of its own.
    public static func readOnlyNotIdempotent(_ job: Job, bringsCheck: (Step) -> Bool) -> [Diagnostic] {
        job.allSteps.compactMap { step in
            guard step.group == nil, case .irreversible = step.revert, !step.idempotent, step.check == nil, !bringsCheck(step) else {
                return nil
            }
            return Diagnostic(
                file: job.file, location: step.location,
                message: "step '\(step.id)': `revert: none`, no check and not idempotent: if the agent dies while it runs, "
                    + "nothing can tell whether it ran, and the whole run is compensated",
                hint: "if running it again is harmless (it only reads), mark it `idempotent: true`; otherwise give it a check")
        }
    }
}
