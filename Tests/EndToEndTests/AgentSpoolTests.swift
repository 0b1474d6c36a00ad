import Foundation
import Testing

/// The agent with its spool, end to end: jobs dropped while it runs, every
/// one filed once with the right report, across restarts.
@Suite struct AgentSpoolTests {
    /// A job that appends its name to HOME/ran.log: each line is one run.
    func job(_ name: String, home: String, fail: Bool = false) -> String {
        """
        version: 1
        name: \(name)
        steps:
          - { id: record, run: "echo \(name) >> \(home)/ran.log" }
          - { id: check, uses: test.fail, with: { always: \(fail) } }
        """
    }

    @Test func twoHundredJobsEachEndFiledOnceWithTheRightReport() async throws {
        let agent = try AgentProcess.start(config: "agent: { max_runs: 8 }\n")
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        var expectedDone: Set<String> = [], expectedFailed: [String: String] = [:]
        for index in 0..<200 {
            let name = "job-\(index).yaml"
            switch index % 8 {
            case 0:
                try agent.drop(name, "version: 1\nname: broken\nsteps:\n  - { id: a, runn: x }\n")
                expectedFailed[name] = "step 'a' has no action"
            case 1:
                try agent.drop(name, job("j\(index)", home: agent.home, fail: true))
                expectedFailed[name] = "ended reverted"
            case 2:
                // Written in place, slowly, under a temporary name; renamed in when complete.
                let temporary = agent.spool + "/incoming/\(name).tmp"
                let handle = try #require(FileHandle(forWritingAtPath: { FileManager.default.createFile(atPath: temporary, contents: nil); return temporary }()))
                for line in job("j\(index)", home: agent.home).split(separator: "\n", omittingEmptySubsequences: false) {
                    handle.write(Data((line + "\n").utf8))
                    try await Task.sleep(for: .milliseconds(1))
                }
                try handle.close()
                #expect(rename(temporary, agent.spool + "/incoming/" + name) == 0)
                expectedDone.insert(name)
            case 3:
                try agent.drop(name, job("j\(index)", home: agent.home), mode: 0o666)
                expectedFailed[name] = "writable by its group or by everyone"
            case 4:
                let outside = agent.home + "/\(name).orig"
                try job("j\(index)", home: agent.home).write(toFile: outside, atomically: false, encoding: .utf8)
                #expect(link(outside, agent.spool + "/incoming/" + name) == 0)
                expectedFailed[name] = "2 hard links"
            case 6:
                // Given away to nobody (the tests run as root, as the agent
                // tests with another caller do) before it is renamed in.
                let aside = agent.spool + "/incoming/.\(name).tmp"
                try job("j\(index)", home: agent.home).write(toFile: aside, atomically: false, encoding: .utf8)
                try #require(chown(aside, 65534, 65534) == 0, "the agent tests run as root")
                #expect(rename(aside, agent.spool + "/incoming/" + name) == 0)
                expectedFailed[name] = "owned by uid 65534"
            default:
                try agent.drop(name, job("j\(index)", home: agent.home))
                expectedDone.insert(name)
            }
        }
        let (done, failed) = try await agent.waitForFiled(200)
        #expect(Set(done) == expectedDone)
        #expect(Set(failed) == Set(expectedFailed.keys))
        for (name, message) in expectedFailed {
            let report = try agent.report(name)
            #expect((report["message"] as? String)?.contains(message) == true, "\(name): \(report)")
            #expect(report["file"] as? String == name)
        }
        #expect(try agent.report("job-0.yaml")["line"] as? Int == 4)
        #expect(try agent.report("job-1.yaml")["run_id"] is String)
        // Each accepted job ran once: one line per job that got to run.
        let ran = try String(contentsOfFile: agent.home + "/ran.log", encoding: .utf8).split(separator: "\n")
        #expect(ran.count == Set(ran).count, "a job ran twice")
        #expect(ran.count == expectedDone.count + expectedFailed.values.filter { $0 == "ended reverted" }.count)
        #expect(agent.jobs(in: "incoming").isEmpty && agent.jobs(in: "processing").isEmpty)
        #expect(agent.stop() == 0)
    }

    @Test func sigtermLeavesRunsToTheNextStartWhichFinishesOrCompensatesThem() async throws {
        let config = "agent: { stop_timeout: 200ms, max_runs: 2 }\n"
        let first = try AgentProcess.start(config: config)
        try await first.waitForLog("ready:")
        for index in 0..<2 {
            try first.drop("slow-\(index).yaml", """
                version: 1
                name: slow
                steps:
                  - { id: made, uses: test.world, with: { flag: made } }
                  - { id: wait, run: "sleep 30", revert: "true" }
                """)
        }
        try await first.waitForLog("started", count: 2)
        // Both slots are taken: this one is claimed and waits.
        try first.drop("quick.yaml", job("quick", home: first.home))
        try await first.waitForLog("claimed quick.yaml")
        #expect(first.stop() == 0)
        #expect(first.log.contains("did not finish in time; it resumes at the next start"), "\(first.log)")
        #expect(first.jobs(in: "processing").count == 3, "claimed jobs stay in processing/: \(first.log)")

        let second = try AgentProcess.start(home: first.home, config: config)
        defer { _ = second.stop() }
        let (done, failed) = try await second.waitForFiled(3)
        #expect(second.log.contains("resuming run"))
        #expect(done == ["quick.yaml"])
        #expect(failed == ["slow-0.yaml", "slow-1.yaml"])
        for name in ["slow-0.yaml", "slow-1.yaml"] {
            #expect((try second.report(name)["message"] as? String)?.contains("the agent stopped during attempt 1") == true)
        }
        let ran = try String(contentsOfFile: first.home + "/ran.log", encoding: .utf8)
        #expect(ran == "quick\n")
    }

    /// SIGTERM stops a live run at its next step boundary: the running step
    /// finishes, no step starts after it, the agent exits without waiting
    /// out its stop timeout, and the next start runs the rest.
    @Test func sigtermStopsLiveRunsAtTheirNextStepBoundary() async throws {
        let first = try AgentProcess.start(config: "agent: { stop_timeout: 1h }\n")
        try await first.waitForLog("ready:")
        // Step a runs until the test lets it finish, after the agent began stopping.
        let marker = first.home + "/step-running", release = first.home + "/step-may-end"
        try first.drop("steps.yaml", """
            version: 1
            name: steps
            steps:
              - { id: a, run: "touch \(marker); until [ -e \(release) ]; do sleep 0.01; done; echo a >> \(first.home)/ran.log" }
              - { id: b, run: "echo b >> \(first.home)/ran.log" }
            """)
        while !FileManager.default.fileExists(atPath: marker) { try await Task.sleep(for: .milliseconds(10)) }
        first.signal(SIGTERM)
        try await first.waitForLog("stopping:")
        #expect(FileManager.default.createFile(atPath: release, contents: nil))
        #expect(first.waitForExit() == 0)
        #expect(first.log.contains("stopped at a step boundary; it resumes at the next start"), "\(first.log)")
        #expect(try String(contentsOfFile: first.home + "/ran.log", encoding: .utf8) == "a\n")

        let second = try AgentProcess.start(home: first.home)
        defer { _ = second.stop() }
        let (done, _) = try await second.waitForFiled(1)
        #expect(done == ["steps.yaml"])
        #expect(try String(contentsOfFile: first.home + "/ran.log", encoding: .utf8) == "a\nb\n")
    }

    @Test func aSecondSigtermStopsAtOnceAndTheRunResumesAtTheNextStart() async throws {
        let first = try AgentProcess.start(config: "agent: { stop_timeout: 1h }\n")
        try await first.waitForLog("ready:")
        try first.drop("slow.yaml", "version: 1\nname: slow\nsteps:\n  - { id: wait, uses: test.sleep, with: { for: 1h } }\n")
        try await first.waitForLog("slow.yaml: run ")
        first.signal(SIGTERM)
        try await first.waitForLog("stopping:")
        #expect(first.stop() == 0)
        #expect(first.log.contains("stopping at once"))
        let second = try AgentProcess.start(home: first.home)
        defer { _ = second.stop() }
        #expect(try await second.waitForFiled(1).failed == ["slow.yaml"])
        #expect(second.log.contains("resuming run"))
    }

    @Test func jobsWithTheSameLockNeverOverlapAndTheirWaitIsVisible() async throws {
        let agent = try AgentProcess.start(config: "agent: { max_runs: 4 }\n")
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        let log = agent.home + "/lock.log", gate = agent.home + "/gate"
        for index in 0..<3 {
            try agent.drop("locked-\(index).yaml", """
                version: 1
                name: locked
                steps:
                  - id: critical
                    lock: database
                    run: "echo start >> \(log); while [ ! -e \(gate) ]; do sleep 0.01; done; echo end >> \(log)"
                """)
        }
        // One holds the lock (held open by the gate); the other two wait, and say so.
        try await agent.waitForLog("waits for lock 'database', held by", count: 2)
        let runs = try AgentControlTests.curl(agent.home + "/atomd.sock", "/runs")
        #expect(runs.components(separatedBy: "critical waits for lock 'database' (held by").count - 1 == 2, "\(runs)")
        FileManager.default.createFile(atPath: gate, contents: nil)
        let (done, _) = try await agent.waitForFiled(3)
        #expect(done.count == 3)
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(lines == Array(repeating: ["start", "end"], count: 3).flatMap { $0 }, "overlapping: \(lines)")
    }

    @Test func sighupReloadsTheConfigurationAndKeepsTheOldOneWhenTheNewIsInvalid() async throws {
        let agent = try AgentProcess.start(config: "agent: { max_runs: 2 }\n")
        defer { _ = agent.stop() }
        try await agent.waitForLog("up to 2 runs at once")
        try "agent: { max_runs: 5 }\n".write(toFile: agent.home + "/atomd.yaml", atomically: true, encoding: .utf8)
        agent.signal(SIGHUP)
        try await agent.waitForLog("reloaded the configuration: up to 5 runs at once")
        try "agent: { max_run: 5 }\n".write(toFile: agent.home + "/atomd.yaml", atomically: true, encoding: .utf8)
        agent.signal(SIGHUP)
        try await agent.waitForLog("reload refused")
        #expect(agent.log.contains("unknown key 'max_run'"))
        try agent.drop("after.yaml", job("after", home: agent.home))
        #expect(try await agent.waitForFiled(1).done == ["after.yaml"])
    }

    @Test func anInvalidConfigurationStopsTheAgentWithExitCode2() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-agent-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        try "agent: { max_runs: lots }\n".write(toFile: home + "/atomd.yaml", atomically: true, encoding: .utf8)
        let result = try await AtomdProcess.run(["agent", "--home", home])
        #expect(result.status == 2)
        #expect(result.stderr.contains("atomd.yaml:1:20"))
        #expect(!FileManager.default.fileExists(atPath: home + "/spool"), "nothing is created for a refused configuration")
    }
}
