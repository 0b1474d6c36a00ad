import AtomdSpec

/// What `atomd rehearse` could not prove about a job, said before anything
/// runs (and by `atomd validate --strict`): steps with nothing to probe,
/// steps with nothing to undo them, reverts that depend on outputs a
/// failed execute may not have produced and no check could supply.
public enum RehearsalWarnings {
    /// One diagnostic per finding, in file order. `registry` answers which
    /// atoms bring their own check and revert.
    public static func of(_ job: Job, registry: AtomRegistry) -> [Diagnostic] {
        let table = JobTable(job)
        var warnings: [Diagnostic] = []
        func warn(_ step: Step, _ message: String, _ hint: String) {
            warnings.append(Diagnostic(file: job.file, location: step.location, message: "step '\(step.id)': \(message)", hint: hint))
        }
        for id in table.main.flatMap(table.subtree) {
            guard let step = table[id]?.step, step.group == nil else { continue }
            let capabilities = step.action.atomName.flatMap { registry[$0]?.capabilities } ?? []
            if case .irreversible = step.revert { continue }
            if step.check == nil, step.state == nil, !capabilities.contains(.check) {
                warn(step, "no check and no state probe, so a rehearsal cannot prove its revert",
                     "add `check:` (exit 0 when its effect is there) or `state:`")
            }
            switch step.revert {
            case .unspecified where !capabilities.contains(.revert):
                warn(step, "no revert: compensation leaves what it did in place",
                     "add `revert:`, or `revert: none` if it changes nothing or cannot be undone")
            case .action(let revert):
                // A check that finds the effect supplies the outputs the
                // revert reads (docs/engine.md, "What a check finds").
                if step.check == nil, !capabilities.contains(.check), let key = outputRead(revert) {
                    warn(step, "its revert reads output '\(key)', which a failed execute may not have produced",
                         "make the revert work without it, or add a check that finds what the step made: "
                         + "its answer gives the revert the step's outputs")
                }
            default:
                break
            }
        }
        return warnings
    }

    private static func outputRead(_ revert: AuxiliaryAction) -> String? {
        for template in revert.action.templates {
            for expression in template.expressions {
                for case .output(let key) in expression.recordReads { return key }
            }
        }
        return nil
    }
}
