import AtomdEngine

/// The environment a step's script gets: a minimal, predictable base (not
/// the agent's own environment, which may hold its secrets), the job's and
/// step's `env`, and the ATOMD_* variables.
///
/// A step with `user:` starts through helpers that still have root's
/// rights (the shell that enters the cgroup, setpriv). The job's variables
/// must not reach them: `LD_PRELOAD`, `GCONV_PATH`, `BASH_ENV` and their
/// kind change how a process loads and runs. So those helpers get `base`
/// alone, and the step's environment travels as inert quoted text that a
/// shell already running as the step's user turns into variables, then
/// execs the interpreter (`handOver`).
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

extension ShellEnvironment {
    /// Each variable holding the handed-over text stays below the kernel's
    /// limit on one environment string (128 KiB).
    static let chunkBytes = 96 << 10
    static let chunkPrefix = "ATOMD_HANDOVER_"

    /// The helpers' environment and the command line that, run as the
    /// step's user, enters `directory` (with the user's rights, not
    /// root's), sets `environment` and execs `command`.
    static func handOver(_ environment: [String: String], directory: String?, shell: String, token: String,
                         command: [String]) -> (helpers: [String: String], command: [String]) {
        var text = directory.map { "cd -- " + quoted($0) + " || exit 126\n" } ?? ""
        for (name, value) in environment.sorted(by: { $0.key < $1.key }) {
            text += "export \(name)=" + quoted(value) + "\n"
        }
        var helpers = base
        helpers[ProcessTree.tokenVariable] = token
        var names: [String] = []
        let bytes = Array(text.utf8)
        var start = 0
        while start < bytes.count {
            // Cut where no UTF-8 sequence continues; eval sees the pieces joined again.
            var end = min(start + chunkBytes, bytes.count)
            while end < bytes.count, bytes[end] & 0xC0 == 0x80 { end -= 1 }
            let name = chunkPrefix + String(names.count)
            helpers[name] = String(decoding: bytes[start..<end], as: UTF8.self)
            names.append(name)
            start = end
        }
        let joined = names.map { "$" + $0 }.joined()
        let script = names.isEmpty ? #"exec "$@""# : #"eval ""# + joined + #"" || exit 126; unset "# + names.joined(separator: " ") + #"; exec "$@""#
        return (helpers, [shell, "-c", script, "atomd-environment"] + command)
    }

    /// `text` in single quotes, each `'` as `'\''`: one word to sh, nothing expanded.
    private static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
