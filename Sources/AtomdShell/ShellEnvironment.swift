import AtomdEngine

/// The environment a step's script gets: a minimal, predictable base (not
/// the agent's own environment, which may hold its secrets), the job's and
/// step's `env`, and the ATOMD_* variables.
enum ShellEnvironment {
    static let base: [String: String] = [
        "PATH": Interpreter.searchPath.joined(separator: ":"),
        "LANG": "C.UTF-8",
        "SHELL": "/bin/sh",
    ]

    static func make(_ command: ShellCommand, context: AtomContext, outputFile: String, token: String,
                     account: UserAccount?) -> [String: String] {
        var environment = base
        environment["HOME"] = account?.home ?? "/"
        if let account {
            environment["USER"] = account.name
            environment["LOGNAME"] = account.name
        }
        environment.merge(command.environment) { _, step in step }
        environment["ATOMD_RUN_ID"] = context.runID
        environment["ATOMD_STEP"] = context.stepPath
        environment["ATOMD_ATTEMPT"] = String(context.attempt)
        environment["ATOMD_IDEMPOTENCY_KEY"] = context.idempotencyKey
        environment["ATOMD_OUTPUT"] = outputFile
        // Inherited by everything the step starts, even a daemon that left the
        // process group: how clean-up finds its processes.
        environment[ProcessTree.tokenVariable] = token
        return environment
    }
}
