import AtomdTestSupport
import Foundation
import Testing

/// A run whose resumption kills the agent is resumed twice, then parked:
/// paused with the reason, left in processing/, and the agent serves other
/// jobs. `atomd resume` releases it.
@Suite struct ResumeParkingTests {
    /// `release`: how the operator releases the parked run, `resume` or `cancel`.
    @Test(.timeLimit(.minutes(3)), arguments: ["resume", "cancel"])
    func aRunWhoseResumptionKillsTheAgentIsParkedAndTheAgentServesOn(release: String) async throws {
        let first = try AgentProcess.start()
        try await first.waitForLog("ready:")
        let gate = first.home + "/go"
        try first.drop("held.yaml", """
            version: 1
            name: held
            steps:
              - { id: wait, timeout: 2m, idempotent: true, run: "while [ ! -e \(gate) ]; do sleep 0.05; done" }
            """)
        let runID = try await AgentControlTests().waitForRun(status: "running", first)
        first.signal(SIGKILL)
        _ = first.waitForExit()

        // Each start journals its "resuming" marker and dies right after it.
        let crash = ["ATOMD_CRASH_RESUMING": "1"]
        for start in 1...2 {
            let agent = try AgentProcess.start(home: first.home, environment: crash)
            _ = agent.waitForExit()
            #expect(agent.running.process.terminationReason == .uncaughtSignal, "start \(start) did not die resuming:\n\(agent.log)")
        }
        // The third start parks the run instead, and is ready.
        let agent = try AgentProcess.start(home: first.home, environment: crash)
        defer { _ = agent.stop() }
        try await agent.waitForLog("parked: the agent died 2 times in a row while resuming this run")
        let show = try await AgentControlTests().cli(["runs", "--json"], agent)
        let runs = try #require(try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [[String: Any]])
        let parked = try #require(runs.first { $0["id"] as? String == runID })
        #expect(parked["status"] as? String == "paused", "\(parked)")
        #expect((parked["detail"] as? String)?.contains("parked") == true, "\(parked)")
        #expect(agent.jobs(in: "processing").isEmpty == false, "the parked job left processing/")

        // Another job runs meanwhile.
        try agent.drop("next.yaml", "version: 1\nname: next\nsteps:\n  - { id: a, run: \"true\" }\n")
        let filed = try await agent.waitForFiled(1)
        #expect(filed.done == ["next.yaml"], "\(filed)")

        // The operator releases it: it finishes, or is cancelled.
        let released = try await AtomdProcess.run([release, runID, "--home", agent.home])
        #expect(released.status == 0, "\(released.stdout)\(released.stderr)")
        _ = FileManager.default.createFile(atPath: gate, contents: nil)
        let all = try await agent.waitForFiled(2)
        if release == "resume" {
            #expect(all.done.contains("held.yaml"), "\(all)\n\(agent.log)")
        } else {
            #expect(all.failed.contains("held.yaml"), "\(all)\n\(agent.log)")
            let listed = try await AgentControlTests().cli(["runs", "--json"], agent)
            #expect(listed.stdout.contains("\"cancelled\""), "\(listed.stdout)")
        }
    }
}
