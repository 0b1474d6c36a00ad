import AtomdEngine
import AtomdSpec
import Foundation
import Glibc
@testable import AtomdShell
import Testing

/// Finding 5 of the hardening issue: `env -i setsid sleep 300 &` (a new
/// session, no token in its environment) outlived its step. Each method of
/// containment this machine offers is tested: a cgroup per step where one
/// can be made, and the process-group fallback.
@Suite(.serialized) struct ContainmentTests {
    static var cgroup: Containment? {
        if case .cgroup = Containment.detected { return Containment.detected }
        print("ContainmentTests: no writable cgroup v2 here (\(Containment.detected)); only the fallback is tested")
        return nil
    }

    func supervisor(_ containment: Containment) throws -> (ProcessSupervisor, String) {
        let (base, directory) = try makeSupervisor()
        return (ProcessSupervisor(logDirectory: base.logDirectory, containment: containment), directory)
    }

    func isGone(_ pid: pid_t, within limit: Duration = .seconds(10)) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while isRunning(pid), ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        return !isRunning(pid)
    }

    @Test(.timeLimit(.minutes(1)))
    func anEscapedProcessDiesWithItsStepInACgroup() async throws {
        guard let containment = Self.cgroup else { return }
        let (supervisor, directory) = try supervisor(containment)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outcome = try await supervisor.run(ShellCommand(script: "env -i setsid sleep 300 > /dev/null 2>&1 < /dev/null & echo $! > \(directory)/pid"),
                                               context: context())
        #expect(outcome.exitCode == 0)
        let escaped = try pid(in: directory + "/pid")
        #expect(await isGone(escaped), "the escaped process \(escaped) outlived its step")
    }

    @Test(.timeLimit(.minutes(1)))
    func aStepsCgroupHoldsWhatItStartsAndIsRemovedAfterwards() async throws {
        guard let containment = Self.cgroup else { return }
        let cgroup = try #require(try StepCgroup(containment, limits: nil, keepRunning: false))
        let (executable, arguments) = cgroup.entering("/bin/sh", ["-c", "sleep 300 & setsid sleep 300 & wait"])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        try process.run()
        let deadline = ContinuousClock.now + .seconds(10)
        while Containment.read(cgroup.path + "/cgroup.procs").split(separator: "\n").count < 3, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(Containment.read(cgroup.path + "/cgroup.procs").split(separator: "\n").count == 3, "the shell and both sleeps")
        cgroup.kill()
        process.waitUntilExit()
        await cgroup.remove()
        #expect(!FileManager.default.fileExists(atPath: cgroup.path))
    }

    @Test(.timeLimit(.minutes(1)))
    func aCancelledStepTakesItsEscapedProcessesWithIt() async throws {
        guard let containment = Self.cgroup else { return }
        let (supervisor, directory) = try supervisor(containment)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let script = "env -i setsid sleep 300 > /dev/null 2>&1 < /dev/null & echo $! > \(directory)/pid; sleep 300"
        let running = Task { try await supervisor.run(ShellCommand(script: script, killGrace: .milliseconds(200)), context: context()) }
        while !FileManager.default.fileExists(atPath: directory + "/pid") { try await Task.sleep(for: .milliseconds(10)) }
        let escaped = try pid(in: directory + "/pid")
        running.cancel()
        let outcome = try await running.value
        #expect(outcome.terminated)
        #expect(await isGone(escaped), "the escaped process \(escaped) outlived its cancelled step")
    }

    /// Without cgroups the process group and the token still stop what
    /// stayed in the group or kept the token; an escaped process is the
    /// documented gap, which is why cgroups are used where they can be.
    @Test(.timeLimit(.minutes(1)))
    func theFallbackStopsTheGroupAndTokenCarriers() async throws {
        let (supervisor, directory) = try supervisor(.processGroups(reason: "chosen by the test"))
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let script = "sleep 300 & echo $! > \(directory)/child; setsid sleep 300 > /dev/null 2>&1 < /dev/null & echo $! > \(directory)/daemon"
        _ = try await supervisor.run(ShellCommand(script: script), context: context())
        #expect(await isGone(try pid(in: directory + "/child")))
        #expect(await isGone(try pid(in: directory + "/daemon")), "a daemon that kept the token is stopped")
    }

    /// A step that writes more than its memory limit is stopped: by its
    /// cgroup's memory controller, or by RLIMIT_AS in the fallback.
    @Test(.timeLimit(.minutes(1)), arguments: [true, false])
    func theMemoryLimitHolds(_ useCgroup: Bool) async throws {
        guard let containment = useCgroup ? Self.cgroup : .processGroups(reason: "chosen by the test") else { return }
        let (supervisor, directory) = try supervisor(containment)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let script = "b = b'x' * (256 << 20)\nprint('allocated', len(b))"
        let limited = try await supervisor.run(ShellCommand(script: script, shell: "python3", limits: StepLimits(memory: 64 << 20)),
                                               context: context())
        #expect(limited.exitCode != 0 && !limited.tail.contains { $0.hasPrefix("allocated") }, "\(limited.tail)")
        let free = try await supervisor.run(ShellCommand(script: script, shell: "python3"), context: context())
        #expect(free.exitCode == 0, "without a limit the same step succeeds: \(free.tail)")
    }

    @Test(.timeLimit(.minutes(1)))
    func thePidsLimitHoldsInACgroup() async throws {
        guard let containment = Self.cgroup else { return }
        let (supervisor, directory) = try supervisor(containment)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let script = """
            import os, time
            started = 0
            try:
                for _ in range(20):
                    if os.fork() == 0:
                        time.sleep(30)
                        os._exit(0)
                    started += 1
            except OSError:
                pass
            print('started', started)
            """
        let outcome = try await supervisor.run(ShellCommand(script: script, shell: "python3", limits: StepLimits(pids: 5)),
                                               context: context())
        let started = outcome.tail.first { $0.hasPrefix("started ") }.flatMap { Int($0.dropFirst(8)) }
        #expect(started.map { $0 < 5 } == true, "\(outcome.tail)")
    }

    @Test(.timeLimit(.minutes(1)))
    func theCPULimitHoldsInACgroupAndIsReportedWhereItCannot() async throws {
        let script = """
            import time
            end = time.monotonic() + 1.0
            while time.monotonic() < end:
                pass
            print('cpu', time.process_time())
            """
        if let containment = Self.cgroup {
            let (supervisor, directory) = try supervisor(containment)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let outcome = try await supervisor.run(ShellCommand(script: script, shell: "python3", limits: StepLimits(cpu: 0.1)),
                                                   context: context())
            let used = outcome.tail.first { $0.hasPrefix("cpu ") }.flatMap { Double($0.dropFirst(4)) }
            #expect(used.map { $0 < 0.5 } == true, "one second at 0.1 CPU: \(outcome.tail)")
        }
        let (fallback, directory) = try supervisor(.processGroups(reason: "chosen by the test"))
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let outcome = try await fallback.run(ShellCommand(script: "print('ok')", shell: "python3", limits: StepLimits(cpu: 0.1)),
                                             context: context())
        #expect(outcome.tail.contains { $0.contains("limits.cpu is not enforced here") }, "\(outcome.tail)")
    }

    @Test func detectionReadsAHybridLayout() {
        let mountInfo = """
            30 25 0:26 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
            31 25 0:27 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
            """
        let none = Containment.detect(mountInfo: "25 1 0:22 / /sys rw - sysfs sysfs rw", cgroups: "0::/\n")
        #expect(none == .processGroups(reason: "no cgroup v2 hierarchy is mounted"))
        let missing = Containment.detect(mountInfo: mountInfo.replacingOccurrences(of: "/sys/fs/cgroup/unified", with: "/nonexistent/unified"),
                                         cgroups: "4:memory:/\n0::/\n")
        guard case .processGroups(let reason) = missing else {
            Issue.record("a cgroup that cannot be made must fall back: \(missing)")
            return
        }
        #expect(reason.contains("cannot create /nonexistent/unified/atomd"))
    }
}
