import CAtomdShell
import Foundation
import Synchronization

/// A helper program a test runs beside itself (a TLS server, say), started
/// with posix_spawn directly. Foundation's Process reports a failed start
/// with whatever `errno` held, not posix_spawn's own error, which made two
/// failed CI runs undiagnosable; here the error is the real one, and a start
/// that fails is tried again (twice) before the test fails with every error.
public final class SpawnedProcess: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    public let pid: pid_t
    /// The wait status once reaped; reaping here because PID 1 of a container
    /// may never do it.
    private let exit = Mutex<Int32?>(nil)

    /// Standard input, output and error are /dev/null.
    public init(_ executable: String, _ arguments: [String]) throws {
        var errors: [String] = []
        for _ in 0..<3 {
            var pid: pid_t = 0
            let status = Self.spawn(&pid, executable, arguments)
            if status == 0 {
                self.pid = pid
                return
            }
            errors.append(String(cString: strerror(status)))
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw Failure("cannot start \(executable): \(errors.joined(separator: "; "))")
    }

    /// posix_spawn's own result: 0 or an error number.
    private static func spawn(_ pid: inout pid_t, _ executable: String, _ arguments: [String]) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // Only 0-2: a pipe end another test left open must not live on in here.
        atomd_spawn_close_from(&actions, 3)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        return posix_spawn(&pid, executable, &actions, nil, argv, environ)
    }

    public var isRunning: Bool {
        exit.withLock { status in
            if status != nil { return false }
            var raw: Int32 = 0
            if waitpid(pid, &raw, WNOHANG) == pid { status = raw }
            return status == nil
        }
    }

    /// Kills the process and reaps it.
    public func stop() {
        exit.withLock { status in
            guard status == nil else { return }
            kill(pid, SIGKILL)
            var raw: Int32 = 0
            while waitpid(pid, &raw, 0) == -1, errno == EINTR {}
            status = raw
        }
    }

    deinit { stop() }
}
