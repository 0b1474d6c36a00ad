import AtomdTestSupport
import Foundation
import Testing

/// Issue 32, item 2: a home has one owner at a time. A second agent, or an
/// `atomd run` while an agent owns the home, is refused at once and told
/// who holds it; reading still works; a killed owner frees the home.
@Suite struct HomeOwnershipTests {
    @Test(.timeLimit(.minutes(2))) func aSecondAgentOrARunIsRefusedWhileAnAgentOwnsTheHome() async throws {
        let agent = try AgentProcess.start()
        try await agent.waitForLog("ready:")
        let pid = agent.running.process.processIdentifier
        // The same home, another socket: the case that made two agents share runs.
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-second-\(UUID().uuidString.prefix(8)).yaml").path
        try "api:\n  socket: \(config).sock\n".write(toFile: config, atomically: true, encoding: .utf8)
        let second = try await AtomdProcess.run(["agent", "--home", agent.home, "--config", config])
        #expect(second.status != 0 && second.stderr.contains("atomd agent, pid \(pid)"), "\(second.status) \(second.stderr)")
        let job = try AtomdProcess.temporaryJob("version: 1\nname: t\nsteps:\n  - { id: a, run: \"true\" }\n")
        let run = try await AtomdProcess.run(["run", job, "--home", agent.home])
        #expect(run.status == 4 && run.stderr.contains("owned by atomd agent, pid \(pid)") && run.stderr.contains("atomd submit"),
                "\(run.status) \(run.stderr)")
        // Reading needs no ownership.
        #expect(try await AtomdProcess.run(["runs", "--home", agent.home]).status == 0)
        // However the owner dies, the home is free again.
        kill(pid, SIGKILL)
        agent.running.process.waitUntilExit()
        let after = try await AtomdProcess.run(["run", job, "--home", agent.home])
        #expect(after.status == 0, "\(after.stderr)")
    }
}
