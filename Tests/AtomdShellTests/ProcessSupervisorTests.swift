import AtomdEngine
import AtomdSpec
import AtomdTestSupport
import Foundation
@testable import AtomdShell
import Glibc
import Testing

@Suite struct ProcessSupervisorTests {
    @Test func scriptsRunFromAFileWithTheStepEnvironment() async throws {
        let (supervisor, _) = try makeSupervisor()
        let command = ShellCommand(script: """
            echo "step=$ATOMD_STEP attempt=$ATOMD_ATTEMPT key=$ATOMD_IDEMPOTENCY_KEY run=$ATOMD_RUN_ID"
            echo "custom=$CUSTOM home=$HOME"
            echo "script=$0"
            test -z "$AGENT_ONLY"
            read -r line || echo "stdin is empty"
            """, environment: ["CUSTOM": "yes"])
        setenv("AGENT_ONLY", "the agent's own environment must not leak", 1)
        let outcome = try await supervisor.run(command, context: context(step: "g/s", attempt: 2))
        #expect(outcome.exitCode == 0, "\(outcome.tail)")
        #expect(outcome.tail.contains { $0.hasPrefix("step=g/s attempt=2 key=key/g/s/2 run=run-") })
        #expect(outcome.tail.contains("custom=yes home=/"))
        #expect(outcome.tail.contains("stdin is empty"))
        #expect(outcome.tail.contains { $0.hasPrefix("script=/") && $0.hasSuffix("/script") })
    }

    @Test func bashRunsWithErrexitAndPipefail() async throws {
        let (supervisor, _) = try makeSupervisor()
        let outcome = try await supervisor.run(ShellCommand(script: "false | true\necho not reached"), context: context())
        #expect(outcome.exitCode == 1)
        #expect(!outcome.tail.contains("not reached"))
    }

    @Test func outputsAreParsedFromTheOutputFile() async throws {
        let (supervisor, _) = try makeSupervisor()
        let outcome = try await supervisor.run(ShellCommand(script: """
            echo "id=srv-1" >> "$ATOMD_OUTPUT"
            printf 'notes<<END\\nline one\\nline two\\nEND\\n' >> "$ATOMD_OUTPUT"
            echo "empty=" >> "$ATOMD_OUTPUT"
            """), context: context())
        #expect(outcome.outputs == ["id": "srv-1", "notes": "line one\nline two", "empty": ""])
        #expect(outcome.outputsError == nil)
    }

    @Test(arguments: [
        ("just text\n", "line 1: expected key=value or key<<DELIMITER"),
        ("1abc=x\n", "line 1: '1abc' is not a valid output name"),
        ("ok=1\nbad key=2\n", "line 2: 'bad key' is not a valid output name"),
        ("doc<<EOF\nnever closed\n", "line 1: 'doc<<EOF' is never closed"),
        ("doc<<\n", "line 1: 'doc<<' needs a delimiter"),
    ])
    func malformedOutputsAreClearErrors(_ text: String, _ message: String) {
        #expect(throws: ShellError.self) { try OutputFile.parse(Array(text.utf8)) }
        do {
            _ = try OutputFile.parse(Array(text.utf8))
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
        }
    }

    @Test func oversizedOutputsAreRefused() {
        let big = Array(repeating: UInt8(ascii: "a"), count: OutputFile.maxBytes + 1)
        #expect(throws: ShellError.self) { try OutputFile.parse(big) }
    }

    @Test func cancellationKeepsTheOutputWrittenAfterSIGTERM() async throws {
        let (supervisor, _) = try makeSupervisor()
        let command = ShellCommand(script: """
            trap 'echo "got TERM, cleaning up"; exit 143' TERM
            echo started
            while true; do sleep 0.05; done
            """, killGrace: .seconds(5))
        let started = AsyncStream<Void>.makeStream()
        let task = Task {
            try await supervisor.run(command, context: context(log: { line in
                if line == "started" { started.continuation.yield() }
            }))
        }
        for await _ in started.stream { break }
        task.cancel()
        let outcome = try await task.value
        #expect(outcome.terminated)
        #expect(outcome.tail.contains("got TERM, cleaning up"))
        #expect(!ProcessTree.isAlive(group: outcome.processGroup))
    }

    @Test func aGrandchildIgnoringSIGTERMIsKilledAfterTheGrace() async throws {
        let (supervisor, directory) = try makeSupervisor()
        let pidFile = directory + "/stubborn.pid"
        let command = ShellCommand(script: """
            ( trap '' TERM; echo $BASHPID > \(pidFile); exec sleep 600 ) &
            until [ -s \(pidFile) ]; do sleep 0.01; done
            """, killGrace: .milliseconds(200))
        let outcome = try await supervisor.run(command, context: context())
        #expect(outcome.exitCode == 0)
        #expect(!isRunning(try pid(in: pidFile)))
        #expect(!ProcessTree.isAlive(group: outcome.processGroup))
    }

    @Test func aDaemonThatDoubleForksIsCleanedUpWhenTheStepEnds() async throws {
        let (supervisor, directory) = try makeSupervisor()
        let pidFile = directory + "/daemon.pid"
        // setsid leaves the process group: only the token and the subreaper find it.
        let command = ShellCommand(script: """
            setsid bash -c 'echo $$ > \(pidFile); exec sleep 600' < /dev/null > /dev/null 2>&1 &
            until [ -s \(pidFile) ]; do sleep 0.01; done
            """, killGrace: .milliseconds(500))
        _ = try await supervisor.run(command, context: context())
        #expect(!isRunning(try pid(in: pidFile)))
    }

    @Test func aProcessHoldingThePipesDoesNotHangTheStep() async throws {
        let (supervisor, directory) = try makeSupervisor()
        let pidFile = directory + "/holder.pid"
        let command = ShellCommand(script: "sleep 600 &\necho $! > \(pidFile)\necho done", killGrace: .milliseconds(500))
        let outcome = try await supervisor.run(command, context: context())
        #expect(outcome.exitCode == 0)
        #expect(outcome.tail.contains("done"))
        #expect(!isRunning(try pid(in: pidFile)))
    }

    @Test func keepRunningLeavesTheGroupAndTheRevertStopsIt() async throws {
        let (supervisor, directory) = try makeSupervisor()
        let pidFile = directory + "/server.pid"
        let atom = ShellAtom(supervisor: supervisor)
        let input: JSONValue = .object([
            "script": .string("""
                sleep 600 > /dev/null 2>&1 &
                echo $! > \(pidFile)
                env -i setsid sleep 601 > /dev/null 2>&1 < /dev/null &
                echo $! > \(directory)/escaped.pid
                """),
            "keep_running": .bool(true), "kill_grace_ms": .integer(500),
        ])
        #expect(atom.providesRevert(for: input))
        // A step of its own: the revert stops what carries its attempt's key.
        let attempt = context(step: "keep-\(UUID().uuidString)")
        let result = try await atom.execute(input, context: attempt)
        let server = try pid(in: pidFile)
        #expect(isRunning(server))
        guard case .integer(let group) = result.outputs["process_group"] else {
            Issue.record("no process group in \(result.outputs)")
            return
        }
        #expect(getpgid(server) == pid_t(group))
        let escaped = try pid(in: directory + "/escaped.pid")
        #expect(isRunning(escaped))
        try await atom.revert(input, outputs: result.outputs, context: attempt)
        #expect(!isRunning(server))
        // Without the token and in a session of its own, it is found by
        // the step's cgroup (where atomd can make one).
        if case .cgroup = supervisor.containment {
            #expect(!isRunning(escaped), "a process that dropped the token outlived the revert")
        } else {
            kill(escaped, SIGKILL)
        }
    }

    /// Issue 30, item 6: the revert signalled the recorded process group id
    /// whatever now had it. Once the step's processes are gone the kernel
    /// hands the id to other processes; the revert must stop only those
    /// that carry the step's token. Here the recorded id is a victim's
    /// own group (as after reuse), started as another user.
    @Test(.timeLimit(.minutes(1))) func theRevertNeverSignalsAGroupThatNoLongerCarriesTheToken() async throws {
        try #require(geteuid() == 0, "the privilege tests run as root")
        let outsider = try TestUsers.outsider
        let (supervisor, directory) = try makeSupervisor()
        let atom = ShellAtom(supervisor: supervisor)
        let input: JSONValue = .object([
            "script": .string("sleep 600 > /dev/null 2>&1 &\necho $! > \(directory)/server.pid"),
            "keep_running": .bool(true), "kill_grace_ms": .integer(500),
        ])
        let attempt = context(step: "keep-\(UUID().uuidString)")
        let result = try await atom.execute(input, context: attempt)
        let server = try pid(in: directory + "/server.pid")
        // The victim: a new session (so its own group), another user's, no token.
        let victim = Process()
        victim.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        victim.arguments = ["--reuid=\(outsider.uid)", "--regid=\(outsider.gid)", "--clear-groups", "/usr/bin/setsid", "/bin/sleep", "600"]
        // Not the test's own output: the run's reader would wait for it.
        victim.standardOutput = FileHandle.nullDevice
        victim.standardError = FileHandle.nullDevice
        try victim.run()
        // SIGKILL: children of this process start with its blocked signals.
        defer { kill(victim.processIdentifier, SIGKILL) }
        var group: pid_t = 0
        for _ in 0..<500 where group != victim.processIdentifier {
            group = getpgid(victim.processIdentifier)
            try await Task.sleep(for: .milliseconds(2))
        }
        try #require(group == victim.processIdentifier, "the victim did not get a group of its own")
        // Another run's service, whose token a job's declared `outputs:` copied.
        let service = Process()
        service.executableURL = URL(fileURLWithPath: "/usr/bin/setsid")
        service.arguments = ["/bin/sleep", "600"]
        service.environment = [ProcessTree.tokenVariable: "other-run/svc/1#42"]
        service.standardOutput = FileHandle.nullDevice
        service.standardError = FileHandle.nullDevice
        try service.run()
        defer { kill(service.processIdentifier, SIGKILL) }
        guard case .object(var outputs) = result.outputs else { throw ShellError("no outputs") }
        outputs["process_group"] = .integer(Int64(group))
        outputs["process_token"] = .string("other-run/svc/1#42")
        try await atom.revert(input, outputs: .object(outputs), context: attempt)
        #expect(victim.isRunning, "the revert killed a process group that is not the step's")
        #expect(service.isRunning, "the revert killed another run's service through a token in the outputs")
        #expect(!isRunning(server), "the step's own process must still be stopped, found by its token")
    }

    @Test func theLogIsTimestampedAndTagged() async throws {
        let (supervisor, directory) = try makeSupervisor()
        let outcome = try await supervisor.run(ShellCommand(script: "echo out-line\necho err-line >&2"), context: context(step: "grp/tagged"))
        #expect(outcome.logPath.hasPrefix(directory) && outcome.logPath.hasSuffix("/grp/tagged.1.log"))
        let lines = try String(contentsOfFile: outcome.logPath, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(Set(lines.map { $0.split(separator: " ", maxSplits: 1).last ?? "" }) == ["out | out-line", "err | err-line"])
        let stamp = try #require(lines.first?.split(separator: " ").first)
        #expect(stamp.count == 24 && stamp.hasSuffix("Z") && stamp.dropFirst(10).first == "T")
    }

    @Test func theLogIsCappedKeepingTheNewestOutput() async throws {
        let (supervisor, _) = try makeSupervisor(logCap: 64 << 10)
        // One stream only: lines of one pipe keep their order.
        let outcome = try await supervisor.run(ShellCommand(script: "for i in $(seq 1 20000); do echo \"line $i\"; done"),
                                               context: context(step: "big"))
        let log = try String(contentsOfFile: outcome.logPath, encoding: .utf8)
        #expect(log.utf8.count <= (64 << 10) + 200)
        #expect(log.contains("older output were dropped"))
        #expect(log.contains(" out | line 20000\n"))
        #expect(!log.contains(" out | line 1\n"))
        #expect(outcome.tail.last == "line 20000")
        #expect(outcome.tail.joined(separator: "\n").utf8.count <= 64 << 10)
    }

    @Test func aHugeLineWithoutNewlineKeepsMemoryBounded() async throws {
        let (supervisor, _) = try makeSupervisor(logCap: 1 << 20)
        let outcome = try await supervisor.run(ShellCommand(script: "head -c 8000000 /dev/zero | tr '\\\\0' x"), context: context())
        #expect(outcome.exitCode == 0)
        #expect(outcome.tail.allSatisfy { $0.utf8.count <= 16 << 10 })
    }
}

@Suite struct ShellAtomTests {
    @Test func exitCodesMapToSuccessAndCheckResults() async throws {
        let (supervisor, _) = try makeSupervisor()
        let atom = ShellAtom(supervisor: supervisor)
        func check(_ script: String, extra: [String: JSONValue] = [:]) async throws -> CheckResult {
            var input: [String: JSONValue] = ["script": .string(script)]
            input.merge(extra) { _, new in new }
            return try await atom.check(.object(input), outputs: nil, context: context())
        }
        #expect(try await check("exit 0") == .present(outputs: nil))
        #expect(try await check("exit 1") == .absent)
        #expect(try await check("exit 7") == .unknown("check exited with code 7"))
        #expect(try await check("exit 3", extra: ["absent_codes": .array([.integer(3)])]) == .absent)
        let ok = try await atom.execute(.object(["script": .string("exit 2"), "success_codes": .array([.integer(0), .integer(2)])]),
                                        context: context())
        #expect(ok.details?["exit_code"] == .integer(2))
        let chatty = try await atom.execute(.object(["script": .string("seq 1 100")]), context: context())
        #expect(chatty.details?["tail"] == .array((1...100).map { .string(String($0)) }))
        await #expect(throws: AtomError.self) { try await atom.execute(.object(["script": .string("echo boom; exit 4")]), context: context()) }
    }

    @Test func failuresCarryTheExitCodeAndTheLastOutput() async throws {
        let (supervisor, _) = try makeSupervisor()
        do {
            _ = try await ShellAtom(supervisor: supervisor).execute(.object(["script": .string("echo first\necho last >&2\nexit 75")]),
                                                                    context: context())
            Issue.record("the step should fail")
        } catch let error as AtomError {
            #expect(error.exitCode == 75)
            #expect(error.message.contains("exited with code 75; last output:\n  first\n  last"))
        }
    }

    @Test func hostileValuesStayData() async throws {
        let harness = try ShellJobHarness()
        let report = try await harness.run("""
            version: 1
            name: hostile
            vars: { evil: "'; touch \(harness.directory)/pwned #", dollar: "$(touch \(harness.directory)/pwned2)" }
            steps:
              - id: a
                run: printf '%s|%s\\n' ${{ vars.evil }} ${{ vars.dollar }} > \(harness.directory)/out
            """)
        #expect(report.status == .succeeded)
        #expect(!FileManager.default.fileExists(atPath: harness.directory + "/pwned"))
        #expect(!FileManager.default.fileExists(atPath: harness.directory + "/pwned2"))
        let written = try String(contentsOfFile: harness.directory + "/out", encoding: .utf8)
        #expect(written == "'; touch \(harness.directory)/pwned #|$(touch \(harness.directory)/pwned2)\n")
    }

    @Test func runAsAnotherUserWhenRoot() async throws {
        guard geteuid() == 0 else {
            print("runAsAnotherUserWhenRoot: skipped, the tests do not run as root")
            return
        }
        let (supervisor, _) = try makeSupervisor()
        let outcome = try await supervisor.run(ShellCommand(script: "id -un; id -u; echo \"$HOME $USER $LOGNAME\"", user: "nobody"),
                                               context: context())
        #expect(outcome.exitCode == 0, "\(outcome.tail)")
        #expect(outcome.tail.first == "nobody")
        #expect(outcome.tail.dropFirst().first != "0")
        #expect(outcome.tail.last?.hasSuffix(" nobody nobody") == true)
    }

    /// Finding 3 of the hardening issue: a step running as another user used
    /// to replace `$ATOMD_OUTPUT` with a symlink to a root-only file, whose
    /// first line the agent then put in an error message; or with a FIFO,
    /// which hung the agent's read past every timeout.
    @Test(.timeLimit(.minutes(1)), arguments: ["ln -s SECRET", "mkfifo"])
    func aStepCannotMakeTheAgentReadAnotherFile(_ replacement: String) async throws {
        guard geteuid() == 0 else {
            print("aStepCannotMakeTheAgentReadAnotherFile: skipped, the tests do not run as root")
            return
        }
        let (supervisor, directory) = try makeSupervisor()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let secret = directory + "/root-only"
        try Data("root-only-first-line\n".utf8).write(to: URL(fileURLWithPath: secret))
        chmod(secret, 0o600)
        let script = """
            echo token=before > "$ATOMD_OUTPUT"
            rm -f "$ATOMD_OUTPUT" 2>/dev/null && echo removed
            mv "$ATOMD_OUTPUT" "$ATOMD_OUTPUT.old" 2>/dev/null && echo moved
            \(replacement.replacingOccurrences(of: "SECRET", with: secret)) "$ATOMD_OUTPUT" 2>/dev/null && echo replaced
            echo done
            """
        let outcome = try await supervisor.run(ShellCommand(script: script, user: "nobody"), context: context())
        #expect(outcome.exitCode == 0, "\(outcome.tail)")
        #expect(outcome.tail == ["done"], "the step changed its workspace: \(outcome.tail)")
        #expect(outcome.outputs == ["token": "before"], "\(String(describing: outcome.outputsError))")
        #expect(!(outcome.outputsError ?? "").contains("root-only"))
    }

    @Test(.timeLimit(.minutes(1)))
    func aTamperedOutputFileIsRefusedWithoutReadingIt() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-fileio-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let target = directory + "/target"
        try Data("secret line\n".utf8).write(to: URL(fileURLWithPath: target))
        #expect(try FileIO.readOwnedFile(target, owner: geteuid(), limit: 100, name: "out") == Array("secret line\n".utf8))
        #expect(try FileIO.readOwnedFile(target, owner: geteuid(), limit: 6, name: "out") == Array("secret".utf8), "capped")
        let link = directory + "/link", fifo = directory + "/fifo", hard = directory + "/hard"
        #expect(symlink(target, link) == 0 && mkfifo(fifo, 0o600) == 0 && Glibc.link(target, hard) == 0)
        for (path, owner, reason) in [(link, geteuid(), "symbolic link"), (fifo, geteuid(), "no longer the regular file"),
                                      (hard, geteuid(), "no longer the regular file"), (directory + "/none", geteuid(), "No such file")] {
            #expect {
                try FileIO.readOwnedFile(path, owner: owner, limit: 100, name: "$ATOMD_OUTPUT")
            } throws: { error in
                let message = (error as? ShellError)?.message ?? ""
                return message.contains(reason) && !message.contains("secret line")
            }
        }
        unlink(hard)
        #expect(throws: ShellError.self) { try FileIO.readOwnedFile(target, owner: geteuid() + 1, limit: 100, name: "out") }
    }

    @Test func unknownUsersAreClearErrors() async throws {
        let (supervisor, _) = try makeSupervisor()
        guard geteuid() == 0 else { return }
        await #expect(throws: ShellError.self) {
            _ = try await supervisor.run(ShellCommand(script: "true", user: "no-such-user-here"), context: context())
        }
    }
}

/// Runs jobs with the real `run` atom.
struct ShellJobHarness {
    let directory: String
    let supervisor: ProcessSupervisor

    init() throws {
        (supervisor, directory) = try makeSupervisor()
    }

    func run(_ yaml: String) async throws -> RunReport {
        let job = try JobLoader.load(bytes: Array(yaml.utf8), file: "job.yaml")
        let engine = Engine(registry: AtomRegistry([ShellAtom(supervisor: supervisor)]))
        return try await engine.start(RunRequest(job: job)).wait()
    }
}
