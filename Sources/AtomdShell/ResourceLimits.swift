import AtomdSpec
import Glibc

/// Limits where no cgroup controller can set them: setrlimit on the step's
/// first process, which what it starts inherits. Per process, not for the
/// step as a whole: `memory` bounds each process's address space
/// (RLIMIT_AS) and `pids` the processes of the step's user (RLIMIT_NPROC,
/// which root ignores).
enum ResourceLimits {
    /// The command, started under util-linux's `prlimit`, which sets the
    /// limits on itself before it executes the step. Setting them on the
    /// started process from outside raced with it: a step that allocates
    /// at once could do so before the limit came (seen in CI).
    static func wrapping(_ limits: StepLimits, _ executable: String, _ arguments: [String]) throws(ShellError) -> (String, [String]) {
        var options: [String] = []
        if let memory = limits.memory { options.append("--as=\(memory):\(memory)") }
        if let pids = limits.pids { options.append("--nproc=\(pids):\(pids)") }
        guard !options.isEmpty else { return (executable, arguments) }
        return (try prlimit(), options + ["--", executable] + arguments)
    }

    private static func prlimit() throws(ShellError) -> String {
        for directory in Interpreter.searchPath where access("\(directory)/prlimit", X_OK) == 0 {
            return "\(directory)/prlimit"
        }
        throw ShellError("limits without a cgroup controller need prlimit (Debian package util-linux)")
    }
}
