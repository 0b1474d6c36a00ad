import AtomdTestSupport
import Foundation
import Testing

/// Issue 32, item 3: `atomd run` and `atomd agent` as a user who cannot make
/// cgroups under a tree root made get the documented fallback (process
/// groups and the token), say so, and run their steps.
@Suite struct NonRootRunTests {
    @Test(.timeLimit(.minutes(2))) func aUserWithoutCgroupsRunsStepsWithProcessGroups() async throws {
        let outsider = try TestUsers.outsider
        let directory = try TestUsers.reachableDirectory("atomd-nonroot", owner: outsider)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let job = directory + "/job.yaml"
        try "version: 1\nname: t\nsteps:\n  - id: a\n    run: { script: \"id -u > \(directory)/ran\", limits: { pids: 64 } }\n"
            .write(toFile: job, atomically: true, encoding: .utf8)
        chmod(job, 0o644)
        let run = try await AtomdProcess.run(["run", job, "--home", directory + "/home"], account: outsider)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect((try? String(contentsOfFile: directory + "/ran", encoding: .utf8)) == "\(outsider.uid)\n")
        // The agent says which containment is in force.
        let agent = try AtomdProcess.start(["agent", "--home", directory + "/agent"], account: outsider)
        defer { agent.process.terminate(); agent.process.waitUntilExit() }
        let deadline = ContinuousClock.now + .seconds(30)
        var log = ""
        while !log.contains("ready:") {
            try #require(agent.process.isRunning && ContinuousClock.now < deadline, "the agent did not start: \(log)")
            try await Task.sleep(for: .milliseconds(20))
            log = (try? String(contentsOf: agent.stderrURL, encoding: .utf8)) ?? ""
        }
        #expect(log.contains("step containment: process groups") || !log.contains("step containment: a cgroup"), "\(log)")
    }
}
