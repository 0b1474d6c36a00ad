/// Steps that get a secret and run as a `user:`: while such a step runs,
/// every other process of that user can read its environment from /proc,
/// another job's steps as that user included. Nothing handed into a process
/// survives its own user's inspection, so validation says so rather than
/// promising otherwise (docs/job-format.md, "Who else can read a secret").
public enum SecretExposure {
    public static func warnings(_ job: Job) -> [Diagnostic] {
        let jobSecrets = job.env.contains { $0.value.readsSecrets }
        var warnings: [Diagnostic] = []
        for step in job.allSteps {
            var actions = [step.action]
            if case .action(let revert) = step.revert { actions.append(revert.action) }
            actions += [step.check?.action, step.state?.action].compactMap { $0 }
            for case .run(let shell) in actions {
                guard let user = shell.user else { continue }
                let reads = jobSecrets || (step.env + shell.env).contains { $0.value.readsSecrets } || shell.script.readsSecrets
                guard reads else { continue }
                let name = user.literalText.map { "'\($0)'" } ?? "its user"
                warnings.append(Diagnostic(
                    file: job.file, location: user.location,
                    message: "step '\(step.id)' gets a secret and runs as \(name): while it runs, every other process of \(name) (another job's steps too) can read the secret from /proc/PID/environ",
                    hint: "give the step a user of its own that runs nothing else, or run it without user: (as the agent's user)"))
                break
            }
        }
        return warnings
    }
}

extension Template {
    var readsSecrets: Bool { expressions.contains { $0.root.reads(context: "secrets") } }
}
