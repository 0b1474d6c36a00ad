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

/// Found by attacking the claim changes (issue 32, item 4): what another
/// user, an operator's `rm` or `mv`, or a full family of names in failed/
/// can do to a claim, and what the agent does instead.
@Suite(.timeLimit(.minutes(2))) struct SpoolClaimAttackTests {
    let submit = AgentSubmitTests()
    let faults = SpoolClaimFaultTests()

    /// A claimed job removed by hand is not filed for ever after: its run's
    /// end says so once, and a later job of that name runs and is filed
    /// for itself.
    @Test func aClaimedJobRemovedByHandIsNotFiledForAnotherJobOfItsName() async throws {
        let agent = try AgentProcess.start()
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        let world = try submit.world(agent)
        let gate = world + "/go"
        try agent.drop("slow.yaml", "version: 1\nname: slow\nsteps:\n  - { id: a, run: \"while [ ! -e \(gate) ]; do sleep 0.02; done; echo first >> \(world)/ran\" }\n")
        try await agent.waitForLog("slow.yaml: run ")
        try FileManager.default.removeItem(atPath: agent.spool + "/processing/slow.yaml")
        _ = FileManager.default.createFile(atPath: gate, contents: nil)
        try await agent.waitForLog("processing/slow.yaml is gone")
        try agent.drop("slow.yaml", "version: 1\nname: slow\nsteps:\n  - { id: a, run: \"echo second >> \(world)/ran\" }\n")
        let filed = try await agent.waitForFiled(1, limit: .seconds(30))
        #expect(filed.done == ["slow.yaml"], "\(filed)")
        #expect((try? String(contentsOfFile: world + "/ran", encoding: .utf8)) == "first\nsecond\n")
        #expect(!agent.log.contains("tried again in"), "\(agent.log)")
        #expect(faults.entries(agent, "processing").isEmpty, "\(faults.entries(agent, "processing"))")
    }

    /// A job put in place of a submitted one (a plain `mv` over it, or the
    /// submitted job removed and another dropped) does not take the other's
    /// values and submitter: it is refused, and nothing runs.
    @Test func aSubmissionNeverLendsItsValuesToAnotherJobText() async throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-agent-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let world = home + "/world"
        try FileManager.default.createDirectory(atPath: world, withIntermediateDirectories: false)
        // An agent made the spool and stopped: `atomd submit` writes the job
        // and its sidecar into incoming/ itself.
        let first = try AgentProcess.start(home: home)
        try await first.waitForLog("ready:")
        #expect(first.stop() == 0)
        let job = try AtomdProcess.temporaryJob(submit.job(world))
        let submitted = try await AtomdProcess.run(["submit", job, "--home", home, "--var", "release=2"])
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let incoming = home + "/spool/incoming"
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: incoming).first { !$0.hasPrefix(".") })
        try "version: 1\nname: other\nvars: { release: 1 }\nsteps:\n  - { id: a, run: \"echo ${{ vars.release }} > \(world)/other\" }\n"
            .write(toFile: incoming + "/.other.tmp", atomically: false, encoding: .utf8)
        #expect(rename(incoming + "/.other.tmp", incoming + "/" + name) == 0)
        let agent = try AgentProcess.start(home: home)
        defer { _ = agent.stop() }
        let filed = try await agent.waitForFiled(1, limit: .seconds(30))
        #expect(filed.failed == [name], "\(filed)")
        let report = try agent.report(name)
        #expect((report["message"] as? String)?.contains("was made for another job text") == true, "\(report)")
        #expect(!FileManager.default.fileExists(atPath: world + "/other"), "nothing ran with the other submission's values")
    }

    /// A directory planted under a job's sidecar name is not a submission:
    /// it stays where it was, and the job runs on its own.
    @Test func aDirectoryPlantedAsASidecarIsLeftAndTheJobRuns() async throws {
        let agent = try AgentProcess.start()
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        let world = try submit.world(agent)
        try FileManager.default.createDirectory(atPath: agent.spool + "/incoming/.deploy.yaml.submit.json/d", withIntermediateDirectories: true)
        try agent.drop("deploy.yaml", "version: 1\nname: deploy\nsteps:\n  - { id: a, run: \"touch \(world)/ran\" }\n")
        let filed = try await agent.waitForFiled(1, limit: .seconds(30))
        #expect(filed.done == ["deploy.yaml"], "\(filed)\n\(agent.log)")
        #expect(FileManager.default.fileExists(atPath: world + "/ran"))
        #expect(faults.entries(agent, "processing").isEmpty, "\(faults.entries(agent, "processing"))")
    }

    /// A family of 10,000 names in failed/ is not cleared by trying again:
    /// the claim is logged once, and not retried on a timer.
    @Test func aFullFamilyOfNamesIsNotRetriedForEver() async throws {
        let agent = try AgentProcess.start()
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        let failed = agent.spool + "/failed"
        for number in 0..<10_000 {
            _ = FileManager.default.createFile(atPath: failed + "/" + (number == 0 ? "deploy.yaml" : "deploy.\(number).yaml"), contents: nil)
        }
        // Writable by others: refused into failed/, where no name is free.
        try agent.drop("deploy.yaml", "version: 1\nname: deploy\nsteps:\n  - { id: a, run: \"true\" }\n", mode: 0o666)
        try await agent.waitForLog("holds 10,000 jobs named like deploy.yaml")
        try agent.drop("other.yaml", "version: 1\nname: other\nsteps:\n  - { id: a, run: \"true\" }\n")
        try await agent.waitForLog("other.yaml: succeeded")
        #expect(agent.log.contains("it stays in incoming/") && !agent.log.contains("claimed again in"), "\(agent.log)")
        #expect(agent.jobs(in: "incoming") == ["deploy.yaml"])
    }

    /// When a failed claim cannot put the sidecar back, the job is refused
    /// rather than claimed later with values and a submitter nobody chose.
    @Test func aSidecarThatCannotBePutBackRefusesItsJob() async throws {
        let agent = try AgentProcess.start(environment: ["ATOMD_SPOOL_FAULT": "claim-rename,claim-restore"])
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        let world = try submit.world(agent)
        let file = try AtomdProcess.temporaryJob(submit.job(world))
        let submitted = try await submit.wait(["submit", file, "--var", "release=2"], agent)
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let filed = try await agent.waitForFiled(1, limit: .seconds(30))
        #expect(filed.failed.count == 1, "\(filed)")
        let report = try agent.report(try #require(filed.failed.first))
        #expect((report["message"] as? String)?.contains("could not be put back beside it") == true, "\(report)")
        #expect(submit.release(world) == nil, "the job never ran without its values")
        #expect(faults.entries(agent, "incoming").isEmpty && faults.entries(agent, "processing").isEmpty)
    }
}
