import CAtomdShell
import Foundation

/// posix_spawn with the plumbing a plugin host needs: its three standard
/// streams and, as descriptor 3, the plugin file. The child gets a process
/// group of its own (a Ctrl-C meant for atomd does not reach it) and default
/// signal handling.
enum ProcessSpawn {
    struct Child {
        let pid: pid_t
        /// The child's standard input, output and error, from our side.
        let input: Int32
        let output: Int32
        let errors: Int32
    }

    /// `environment` is added to atomd's own.
    static func spawn(executable: String, arguments: [String], environment: [String: String], extraFD: Int32?) throws(PluginError) -> Child {
        var pipes: [[Int32]] = []
        for _ in 0..<3 {
            // Socket pairs rather than pipes: they can be made close-on-exec
            // atomically (pipe2 is not visible to Swift), so a process another
            // thread starts meanwhile cannot inherit them.
            var ends: [Int32] = [-1, -1]
            guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
                let reason = String(cString: strerror(errno))
                for pair in pipes { pair.forEach { close($0) } }
                throw PluginError(executable, "cannot create a pipe for the plugin host: \(reason)")
            }
            pipes.append(ends)
        }
        // Moved above 2 so that dup2 onto 3 always clears close-on-exec.
        let passed = extraFD.map { fcntl($0, F_DUPFD_CLOEXEC, 10) }
        defer {
            if let passed, passed >= 0 { close(passed) }
            close(pipes[0][0]); close(pipes[1][1]); close(pipes[2][1])
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipes[0][0], 0)
        posix_spawn_file_actions_adddup2(&actions, pipes[1][1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipes[2][1], 2)
        if let passed, passed >= 0 { posix_spawn_file_actions_adddup2(&actions, passed, 3) }
        // A host inherits 0-3 and nothing else: a descriptor another thread
        // opened without close-on-exec would otherwise live as long as the
        // host, and keep someone's pipe from ever reaching end-of-file.
        atomd_spawn_close_from(&actions, passed == nil ? 3 : 4)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        var merged = ProcessInfo.processInfo.environment
        merged.merge(environment) { _, new in new }
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let status = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard status == 0 else {
            close(pipes[0][1]); close(pipes[1][0]); close(pipes[2][0])
            throw PluginError(executable, "cannot start the plugin host: \(String(cString: strerror(status)))")
        }
        return Child(pid: pid, input: pipes[0][1], output: pipes[1][0], errors: pipes[2][0])
    }

    /// "exited with status 1", "killed by signal 11 (SIGSEGV)".
    static func describe(waitStatus status: Int32) -> String {
        let signal = status & 0x7F
        if signal == 0 { return "exited with status \((status >> 8) & 0xFF)" }
        let name = signalNames[signal].map { " (\($0))" } ?? ""
        return "killed by signal \(signal)\(name)"
    }

    private static let signalNames: [Int32: String] = [
        SIGSEGV: "SIGSEGV", SIGABRT: "SIGABRT", SIGKILL: "SIGKILL", SIGBUS: "SIGBUS", SIGILL: "SIGILL",
        SIGTRAP: "SIGTRAP", SIGFPE: "SIGFPE", SIGTERM: "SIGTERM",
    ]
}
