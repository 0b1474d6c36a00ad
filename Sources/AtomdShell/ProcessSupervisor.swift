import AtomdEngine
import Foundation
import Glibc
import Subprocess
import Synchronization
import SystemPackage

/// Runs shell steps the way a careful operator would: each in its own session
/// and process group with stdin from /dev/null, the script in a private file,
/// a minimal environment, every output line in a capped log file, and
/// nothing left running when the step ends (unless it says `keep_running`).
public struct ProcessSupervisor: Sendable {
    /// Step logs go to `logDirectory/RUN/STEP.ATTEMPT.log`.
    public var logDirectory: String
    public var logCap: Int
    public var tailBytes: Int
    /// How steps are contained: found once per process, chosen by tests.
    public var containment: Containment

    public init(logDirectory: String, logCap: Int = 64 << 20, tailBytes: Int = 64 << 10,
                containment: Containment = .detected) {
        self.logDirectory = logDirectory
        self.logCap = logCap
        self.tailBytes = tailBytes
        self.containment = containment
        _ = ProcessTree.becomeSubreaper
    }

    /// How a step's process ended.
    public struct Outcome: Sendable {
        /// Nil when a signal ended it.
        public var exitCode: Int?
        public var signal: Int32?
        /// Cancelled (a timeout or a cancelled run) and terminated by us.
        public var terminated: Bool
        /// The last lines of output, at most `tailBytes`.
        public var tail: [String]
        /// The last lines of standard output alone, at most `tailBytes`.
        public var stdout: [String]
        public var outputs: [String: String]
        /// Why `$ATOMD_OUTPUT` could not be read, if it could not.
        public var outputsError: String?
        public var logPath: String
        public var processGroup: pid_t
        public var token: String
    }

    /// `announce`: note the process group in the run's journal once it starts.
    public func run(_ command: ShellCommand, context: AtomContext, announce: Bool = false) async throws(ShellError) -> Outcome {
        // What earlier steps stopped must be gone before this one looks,
        // and what this one stops before the next looks.
        ProcessTree.reapOrphans()
        defer { ProcessTree.reapOrphans() }
        let account = try command.user.map { user throws(ShellError) in try UserAccount.lookup(user: user, group: command.group) }
        let interpreter = try Interpreter.resolve(command.shell)
        let workspace = try Workspace(script: command.script, owner: account)
        defer { workspace.remove() }
        let token = "\(context.idempotencyKey)#\(UInt64.random(in: 1...UInt64.max))"
        let environment = ShellEnvironment.make(command, context: context, outputFile: workspace.outputFile,
                                                token: token, account: account)
        let log = try StepLog(path: logPath(context), cap: logCap, tailBytes: tailBytes)
        defer { log.close() }
        let cgroup = try StepCgroup(containment, limits: command.limits, keepRunning: command.keepRunning, attemptKey: context.attemptKey)
        let rlimits = StepCgroup.fallback(containment, limits: command.limits)
        if rlimits?.cpu != nil { log.append("[atomd] limits.cpu is not enforced here: no cpu controller (atomd agent says which method is in force)", stream: "err") }

        var options = PlatformOptions()
        options.createSession = true
        var executable = interpreter.path
        var arguments = interpreter.arguments + [workspace.scriptFile]
        var launchEnvironment = environment
        var workingDirectory = command.workingDirectory
        if let account {
            // Privileges are dropped by setpriv rather than by the library's
            // userID options: those make it fork this multi-threaded process
            // and run code between fork and exec, which can deadlock. The
            // job's variables are set only after the drop (ShellEnvironment).
            // `cwd:` too is entered after the drop: root could enter a
            // directory the user cannot, and the step would read from it.
            let handOver = ShellEnvironment.handOver(environment, directory: workingDirectory, shell: try Interpreter.resolve("sh").path,
                                                     token: token, command: [executable] + arguments)
            launchEnvironment = handOver.helpers
            workingDirectory = nil
            arguments = try account.setprivArguments() + handOver.command
            executable = try UserAccount.setpriv()
        }
        if let rlimits { (executable, arguments) = try ResourceLimits.wrapping(rlimits, executable, arguments) }
        if let cgroup { (executable, arguments) = cgroup.entering(executable, arguments) }
        let launch = Launch(
            executable: executable, arguments: arguments,
            environment: launchEnvironment, workingDirectory: workingDirectory, options: options)
        let control = ProcessControl(grace: command.killGrace)
        let spawned = Task { [log] in
            try await launch.run(control: control, keepRunning: command.keepRunning, started: { group in
                if announce { context.note("process group \(group)", data: .object(["process_group": .integer(Int64(group))])) }
            }, tick: { log.flushPending() }) { line, stream in
                log.append(context.mask(line), stream: stream)
            } live: { line in
                context.log(line)
            }
        }
        let status: TerminationStatus
        do {
            status = try await withTaskCancellationHandler {
                try await spawned.value
            } onCancel: {
                control.cancel()
            }
        } catch {
            throw ShellError("cannot start \(interpreter.path): \(error)")
        }
        let group = control.processGroup
        if !command.keepRunning {
            await ProcessTree.terminate(group: group, grace: command.killGrace, reap: true)
            await ProcessTree.terminateOrphans(token: token, grace: command.killGrace)
            // What escaped both (a new session without the token) is still in the cgroup.
            cgroup?.kill()
            await cgroup?.remove()
        } else if ProcessTree.isAlive(group: group) {
            context.log("[atomd] keep_running: process group \(group) is still running")
        }
        var outcome = Outcome(exitCode: nil, signal: nil, terminated: control.wasCancelled, tail: log.tail,
                              stdout: log.stdoutTail, outputs: [:],
                              outputsError: nil, logPath: log.path, processGroup: group, token: token)
        switch status {
        case .exited(let code): outcome.exitCode = Int(code)
        case .signaled(let signal): outcome.signal = signal
        }
        do {
            outcome.outputs = try OutputFile.parse(workspace.outputBytes())
        } catch {
            outcome.outputsError = error.message
        }
        return outcome
    }

    private func logPath(_ context: AtomContext) -> String {
        StepLog.path(in: logDirectory, for: context)
    }
}

/// Everything needed to start the process, so the spawning task captures
/// only sendable values.
private struct Launch: Sendable {
    var executable: String
    var arguments: [String]
    var environment: [String: String]
    var workingDirectory: String?
    var options: PlatformOptions

    /// `tick` is called every 20 ms while the process runs.
    func run(control: ProcessControl, keepRunning: Bool, started: @escaping @Sendable (pid_t) -> Void,
             tick: @escaping @Sendable () -> Void,
             write: @escaping @Sendable (String, String) -> Void,
             live: @escaping @Sendable (String) -> Void) async throws -> TerminationStatus {
        let variables = environment.map { Array("\($0.key)=\($0.value)\0".utf8) }
        let result = try await Subprocess.run(
            .path(FilePath(executable)), arguments: Arguments(arguments), environment: .custom(variables),
            workingDirectory: workingDirectory.map { FilePath($0) }, platformOptions: options,
            input: .none, output: .sequence, error: .sequence
        ) { execution in
            let pid = execution.processIdentifier.value
            control.started(pid)
            started(pid)
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    await Self.drain(execution.standardOutput, stream: "out", write: write, live: live)
                }
                group.addTask {
                    await Self.drain(execution.standardError, stream: "err", write: write, live: live)
                }
                // When the script exits but something it started keeps the
                // pipes open, stop that (or, with keep_running, stop reading).
                group.addTask {
                    repeat {
                        guard (try? await Task.sleep(for: .milliseconds(20))) != nil else { return }
                        tick()
                    } while !Self.hasExited(pid)
                    // The readers usually reach end-of-file right after the
                    // exit; only a process still holding the pipes is left.
                    guard (try? await Task.sleep(for: .milliseconds(50))) != nil, !keepRunning else { return }
                    await ProcessTree.terminate(group: pid, grace: control.grace, reap: false)
                }
                if keepRunning {
                    // The readers end at EOF, or are cancelled once the script has exited.
                    _ = await group.next()
                    group.cancelAll()
                } else {
                    _ = await group.next()
                    _ = await group.next()
                    group.cancelAll()
                }
            }
        }
        return result.terminationStatus
    }

    private static func drain(_ sequence: SubprocessOutputSequence, stream: String,
                              write: @escaping @Sendable (String, String) -> Void,
                              live: @escaping @Sendable (String) -> Void) async {
        var splitter = LineSplitter()
        var rate = LiveLines()
        func emit(_ line: String) {
            write(line, stream)
            rate.offer(line, send: live)
        }
        do {
            for try await buffer in sequence {
                buffer.withUnsafeBytes { splitter.feed($0, emit: emit) }
            }
        } catch {
            // Cancelled (keep_running) or the pipe failed: what was read is kept.
        }
        splitter.finish(emit)
    }

    /// Whether the process has exited, without reaping it (the library does).
    private static func hasExited(_ pid: pid_t) -> Bool {
        var info = siginfo_t()
        guard waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT | WNOHANG) == 0 else { return true }
        return info._sifields._sigchld.si_pid != 0
    }
}

/// Cancellation of a running step: SIGTERM to its group, the grace period,
/// then SIGKILL, while the output written meanwhile is still read and kept.
final class ProcessControl: Sendable {
    let grace: Duration
    private let state = Mutex<(pid: pid_t, cancelled: Bool)>((0, false))

    init(grace: Duration) {
        self.grace = grace
    }

    var processGroup: pid_t { state.withLock { $0.pid } }
    var wasCancelled: Bool { state.withLock { $0.cancelled } }

    func started(_ pid: pid_t) {
        let cancelledEarly = state.withLock { state -> Bool in
            state.pid = pid
            return state.cancelled
        }
        if cancelledEarly { terminate(pid) }
    }

    func cancel() {
        let pid = state.withLock { state -> pid_t in
            state.cancelled = true
            return state.pid
        }
        if pid > 0 { terminate(pid) }
    }

    private func terminate(_ group: pid_t) {
        let grace = grace
        Task { await ProcessTree.terminate(group: group, grace: grace, reap: false) }
    }
}
