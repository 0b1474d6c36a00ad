import Foundation
import Testing

/// A stop while a run compensates, or while a step probes: the revert,
/// check or state probe running now is waited for and journaled, as an
/// execute is; when the stop timeout runs out, the step's processes are
/// stopped before the agent exits, and the next start handles the
/// interrupted revert.
@Suite struct AgentStopCompensationTests {
    /// The job: c fails, b's revert runs when the agent is told to
    /// stop. Its revert waits for `gate` instead of sleeping, so the test
    /// decides when it ends.
    static func job(_ log: String, revertOfB: String) -> String {
        """
        version: 1
        name: stopped-revert
        steps:
          - { id: a, run: "echo a >> \(log)", revert: "echo 'a reverted' >> \(log)" }
          - { id: b, run: "echo b >> \(log)", revert: "\(revertOfB)" }
          - { id: c, run: "exit 1" }
        """
    }

    static func text(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

    static func count(_ line: String, in path: String) -> Int {
        text(path).split(separator: "\n").filter { $0 == line }.count
    }

    /// Waits until `path` holds `line`.
    static func waitForLine(_ line: String, in path: String, limit: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + limit
        while count(line, in: path) == 0 {
            try #require(ContinuousClock.now < deadline, "no '\(line)' in \(path) within \(limit): \(text(path))")
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    static func runID(_ agent: AgentProcess) async throws -> String {
        let listed = try await AgentControlTests().cli(["runs", "--json"], agent)
        let runs = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        return try #require(runs.first?["id"] as? String, "\(listed.stdout)")
    }

    static func status(_ agent: AgentProcess) async throws -> String? {
        let listed = try await AgentControlTests().cli(["runs", "--json"], agent)
        let runs = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]]
        return runs?.first?["status"] as? String
    }

    /// Processes whose environment carries a step token of `runID` (every
    /// process of a shell step does), with their command lines.
    static func processes(of runID: String) -> [String] {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap { pid_t($0) } ?? []
        return pids.compactMap { pid in
            guard let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ"),
                  String(decoding: environ, as: UTF8.self).contains("ATOMD_PROCESS_TOKEN=\(runID)/"),
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")"),
                  stat[stat.index(close, offsetBy: 2)...].first != "Z" else { return nil }
            let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()
            return "\(pid): " + String(decoding: cmdline.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
        }
    }

    @Test(.timeLimit(.minutes(3))) func aStopWaitsForTheRunningRevertWhichDoesNotRunAgain() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-agent-\(UUID().uuidString)").path
        let log = home + "/LOG", gate = home + "/go"
        let agent = try AgentProcess.start(home: home)
        try await agent.waitForLog("ready:")
        try agent.drop("job.yaml", Self.job(log, revertOfB: "echo 'b reverted' >> \(log); "
                + "while [ ! -e \(gate) ]; do sleep 0.02; done; echo finished >> \(log)"))
        try await Self.waitForLine("b reverted", in: log)
        agent.signal(SIGTERM)
        try await agent.waitForLog("stopping: 1 running")
        // The agent waits for the revert: it is still there to see it end.
        #expect(agent.running.process.isRunning, "the agent exited while b's revert ran:\n\(agent.log)")
        try #require(FileManager.default.createFile(atPath: gate, contents: nil))
        #expect(try await agent.exited() == 0)
        #expect(Self.count("finished", in: log) == 1, "b's revert had not finished when the agent exited: \(Self.text(log))")
        #expect(Self.count("a reverted", in: log) == 0, "compensation went on after the stop: \(Self.text(log))")
        #expect(agent.log.contains("stopped at a step boundary"), "\(agent.log)")

        let again = try AgentProcess.start(home: home)
        defer { again.signal(SIGTERM) }
        _ = try await again.waitForFiled(1)
        await #expect(try Self.status(again) == "reverted", "\(again.log)")
        #expect(Self.count("b reverted", in: log) == 1, "b's revert ran again: \(Self.text(log))")
        #expect(Self.count("finished", in: log) == 1, "\(Self.text(log))")
        #expect(Self.count("a reverted", in: log) == 1, "\(Self.text(log))")
    }

    @Test(.timeLimit(.minutes(3))) func aRevertStillRunningWhenTheStopTimesOutIsStoppedAndResumed() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-agent-\(UUID().uuidString)").path
        let log = home + "/LOG", gate = home + "/go", pidFile = home + "/revert.pid"
        let agent = try AgentProcess.start(home: home, config: "agent:\n  stop_timeout: 1s\n")
        try await agent.waitForLog("ready:")
        // Until `gate` exists b's revert hangs (in a child, so that the
        // whole tree must go); then it succeeds at once.
        try agent.drop("job.yaml", Self.job(log, revertOfB: "if [ -e \(gate) ]; then echo 'b reverted' >> \(log); exit 0; fi; "
                + "echo $$ > \(pidFile); echo 'b hangs' >> \(log); sleep 30; echo finished >> \(log)"))
        try await Self.waitForLine("b hangs", in: log)
        let runID = try await Self.runID(agent)
        let group = try #require(pid_t(Self.text(pidFile).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(!Self.processes(of: runID).isEmpty, "the test cannot see the revert's processes")
        agent.signal(SIGTERM)
        #expect(try await agent.exited() == 0)
        // Nothing of the revert outlives the agent: not by token, not in its group.
        #expect(Self.processes(of: runID).isEmpty, "left running: \(Self.processes(of: runID))\n\(agent.log)")
        #expect(kill(-group, 0) == -1 && errno == ESRCH, "the revert's process group \(group) is still there")
        #expect(agent.log.contains("did not finish in time"), "\(agent.log)")
        // The attempt stays journaled as under way, for the next start.
        let stepStatus = JournalSQL.number(home + "/journal.sqlite",
                                           "select count(*) from steps where run_id = '\(runID)' and step_id = 'b' and status = 'reverting'")
        #expect(stepStatus == 1, "b is not journaled as reverting")

        try #require(FileManager.default.createFile(atPath: gate, contents: nil))
        let again = try AgentProcess.start(home: home)
        defer { again.signal(SIGTERM) }
        _ = try await again.waitForFiled(1)
        await #expect(try Self.status(again) == "reverted", "\(again.log)")
        #expect(Self.count("b reverted", in: log) == 1, "\(Self.text(log))")
        #expect(Self.count("a reverted", in: log) == 1, "\(Self.text(log))")
        #expect(Self.count("finished", in: log) == 0, "\(Self.text(log))")
    }

    /// A check or state probe running before its step starts is waited
    /// for; the step then does not start (it is not running), and runs at
    /// the next start.
    @Test(.timeLimit(.minutes(3)), arguments: ["check", "state"])
    func aStopWaitsForARunningProbeAndTheStepStartsOnlyAfterARestart(_ probe: String) async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-agent-\(UUID().uuidString)").path
        let log = home + "/LOG", gate = home + "/go"
        let agent = try AgentProcess.start(home: home)
        try await agent.waitForLog("ready:")
        let waits = "echo probing >> \(log); while [ ! -e \(gate) ]; do sleep 0.02; done; echo probed >> \(log)"
        // A check saying absent, or a state probe reporting one key.
        let line = probe == "check" ? "check: \"\(waits); exit 1\"" : "state: { run: \"\(waits); echo k=v\" }"
        try agent.drop("job.yaml", """
            version: 1
            name: stopped-probe
            steps:
              - id: x
                run: "echo 'x ran' >> \(log)"
                \(line)
            """)
        try await Self.waitForLine("probing", in: log)
        agent.signal(SIGTERM)
        try await agent.waitForLog("stopping: 1 running")
        #expect(agent.running.process.isRunning, "the agent exited while x's \(probe) ran:\n\(agent.log)")
        try #require(FileManager.default.createFile(atPath: gate, contents: nil))
        #expect(try await agent.exited() == 0)
        #expect(Self.count("probed", in: log) == 1, "the \(probe) had not finished when the agent exited: \(Self.text(log))")
        #expect(Self.count("x ran", in: log) == 0, "the step started after the stop: \(Self.text(log))")

        let again = try AgentProcess.start(home: home)
        defer { again.signal(SIGTERM) }
        _ = try await again.waitForFiled(1)
        await #expect(try Self.status(again) == "succeeded", "\(again.log)")
        #expect(Self.count("x ran", in: log) == 1, "\(Self.text(log))")
    }

    /// A second SIGTERM ends the wait at once: the step running is stopped
    /// before the agent exits, and stays journaled running.
    @Test(.timeLimit(.minutes(2))) func aSecondSignalStopsTheRunningStepBeforeTheAgentExits() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-agent-\(UUID().uuidString)").path
        let log = home + "/LOG"
        let agent = try AgentProcess.start(home: home)
        try await agent.waitForLog("ready:")
        try agent.drop("job.yaml", """
            version: 1
            name: hurried
            steps:
              - { id: long, run: "echo started >> \(log); sleep 30; echo finished >> \(log)" }
            """)
        try await Self.waitForLine("started", in: log)
        let runID = try await Self.runID(agent)
        agent.signal(SIGTERM)
        try await agent.waitForLog("stopping: 1 running")
        agent.signal(SIGTERM)
        #expect(try await agent.exited() == 0)
        #expect(Self.processes(of: runID).isEmpty, "left running: \(Self.processes(of: runID))\n\(agent.log)")
        #expect(agent.log.contains("did not finish in time"), "\(agent.log)")
        let running = JournalSQL.number(home + "/journal.sqlite",
                                        "select count(*) from steps where run_id = '\(runID)' and step_id = 'long' and status = 'running'")
        #expect(running == 1, "the step is not journaled as running")
    }
}

extension AgentProcess {
    /// The exit status, waiting without blocking a thread of the
    /// cooperative pool (other tests run on it meanwhile).
    func exited(limit: Duration = .seconds(60)) async throws -> Int32 {
        let deadline = ContinuousClock.now + limit
        while running.process.isRunning {
            try #require(ContinuousClock.now < deadline, "the agent did not exit within \(limit):\n\(log)")
            try await Task.sleep(for: .milliseconds(20))
        }
        return waitForExit()
    }
}
