import Foundation
import Testing

/// Issue 32, item 4: an error during a claim never leaves a job neither
/// queued nor filed. The faults are injected (`ATOMD_SPOOL_FAULT`, debug
/// builds): EIO from the directory sync after the job is in processing/, or
/// from the job's rename after its sidecar has moved. Before, the first left
/// the job in processing/ until a restart, and the second left it in
/// incoming/ with its sidecar orphaned in processing/.
@Suite(.timeLimit(.minutes(2))) struct SpoolClaimFaultTests {
    let submit = AgentSubmitTests()

    /// Everything in a spool directory, dotfiles (sidecars) included.
    func entries(_ agent: AgentProcess, _ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: agent.spool + "/" + directory)) ?? []).sorted()
    }

    /// Submits the job with `release=2` and waits for its run: it must
    /// succeed with the submitted value, filed in done/, nothing left over.
    func submitAndExpectItRan(_ agent: AgentProcess) async throws {
        let world = try submit.world(agent)
        let file = try AtomdProcess.temporaryJob(submit.job(world))
        let waited = try await submit.wait(["submit", file, "--var", "release=2", "--wait"], agent)
        #expect(waited.status == 0, "\(waited.stdout)\n\(waited.stderr)\n\(agent.log)")
        #expect(submit.release(world) == "2", "the run saw the submitted value")
        _ = try await agent.waitForFiled(1, limit: .seconds(30))
        #expect(agent.jobs(in: "done").count == 1, "\(agent.log)")
        #expect(entries(agent, "processing").isEmpty, "left in processing/: \(entries(agent, "processing"))")
        #expect(entries(agent, "incoming").isEmpty, "left in incoming/: \(entries(agent, "incoming"))")
    }

    @Test func aSyncThatFailsAfterTheClaimStillRunsTheJob() async throws {
        let agent = try AgentProcess.start(environment: ["ATOMD_SPOOL_FAULT": "claim-sync"])
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        try await submitAndExpectItRan(agent)
        #expect(agent.log.contains("cannot be synced: Input/output error; the move stands"), "\(agent.log)")
    }

    @Test func aRenameThatFailsPutsTheSidecarBackAndTheJobIsClaimedAgain() async throws {
        let agent = try AgentProcess.start(environment: ["ATOMD_SPOOL_FAULT": "claim-rename"])
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        try await submitAndExpectItRan(agent)
        #expect(agent.log.contains("it stays in incoming/ and is claimed again in 1.0 seconds"), "\(agent.log)")
    }
}

extension SpoolClaimFaultTests {
    /// While the rename keeps failing, the job waits in incoming/ with its
    /// own sidecar beside it (nothing of it in processing/, where a later
    /// job of that name would have taken the submitter and values), and the
    /// claim is tried again less and less often.
    @Test func aJobThatCannotBeClaimedWaitsWithItsSidecarAndIsTriedLessOften() async throws {
        let agent = try AgentProcess.start(environment: ["ATOMD_SPOOL_FAULT": "claim-rename:1000"])
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        let world = try submit.world(agent)
        let submitted = try await submit.wait(["submit", try AtomdProcess.temporaryJob(submit.job(world)), "--var", "release=2"], agent)
        #expect(submitted.status == 0, "\(submitted.stderr)")
        try await agent.waitForLog("is claimed again in 2.0 seconds", limit: .seconds(20))
        #expect(entries(agent, "processing").isEmpty, "\(entries(agent, "processing"))")
        let waiting = entries(agent, "incoming")
        #expect(waiting.count == 2 && waiting.contains { $0.hasSuffix(".submit.json") }, "\(waiting)")
        #expect(agent.log.contains("is claimed again in 1.0 seconds"), "\(agent.log)")
    }
}
