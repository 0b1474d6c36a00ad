import Foundation
import Testing

/// `atomd submit --var/--on-failure/--wait` through the real agent: what the
/// run did with the values (files it wrote), what --wait exits with, and that
/// a refused submission leaves nothing in the spool.
@Suite(.timeLimit(.minutes(2))) struct AgentSubmitTests {
    let control = AgentControlTests()

    /// `made` writes the release into WORLD/release (removed on revert);
    /// `gate` fails unless the release is 2.
    func job(_ world: String, onFailure: String = "revert") -> String {
        """
        version: 1
        name: submitted
        on_failure: \(onFailure)
        vars: { release: 1 }
        steps:
          - { id: made, run: "echo ${{ vars.release }} > \(world)/release", revert: "rm -f \(world)/release" }
          - { id: gate, run: "test ${{ vars.release }} = 2" }
        """
    }

    func world(_ agent: AgentProcess) throws -> String {
        let world = agent.home + "/world"
        try FileManager.default.createDirectory(atPath: world, withIntermediateDirectories: true)
        return world
    }

    func release(_ world: String) -> String? {
        (try? String(contentsOfFile: world + "/release", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Everything in incoming/, dotfiles (sidecars, files written aside) included.
    func incoming(_ agent: AgentProcess) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: agent.spool + "/incoming")) ?? []).sorted()
    }

    /// `atomd ARGUMENTS --home HOME` to its end, killed after 30 seconds.
    func wait(_ arguments: [String], _ agent: AgentProcess) async throws -> AtomdProcess.Result {
        try await AtomdProcess.start(arguments + ["--home", agent.home]).finish(within: .seconds(30))
    }

    @Test func aVarReachesTheRunAndWaitExitsWithItsSuccess() async throws {
        let agent = try AgentProcess.start()
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        let world = try world(agent)
        let file = try AtomdProcess.temporaryJob(job(world))
        let waited = try await wait(["submit", file, "--var", "release=2", "--wait"], agent)
        #expect(waited.status == 0, "\(waited.stdout)\n\(waited.stderr)")
        #expect(waited.stdout.contains("gate  succeeded") && waited.stdout.contains("succeeded (exit 0)"), "\(waited.stdout)")
        #expect(release(world) == "2", "the step saw the submitted value")
        let runID = try await control.waitForRun(status: "succeeded", agent)
        await #expect(try control.cli(["show", runID], agent).stdout.contains("--var release=2"))
    }

    @Test func waitExitsOneWhenTheRunWasCompensated() async throws {
        let agent = try AgentProcess.start()
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        let world = try world(agent)
        let waited = try await wait(["submit", try AtomdProcess.temporaryJob(job(world)), "--wait", "--json"], agent)
        #expect(waited.status == 1, "\(waited.stdout)\n\(waited.stderr)")
        let lines = waited.stdout.split(separator: "\n")
        #expect(lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) != nil }, "JSON lines: \(waited.stdout)")
        let last = try #require(lines.last)
        let outcome = try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any]
        #expect(outcome?["status"] as? String == "reverted" && outcome?["exit_code"] as? Int == 1, "\(last)")
        #expect(waited.stdout.contains(#""kind":"step""#), "events were printed as JSON lines")
        #expect(release(world) == nil, "made was reverted")
    }

    /// --on-failure pause overrides the job's revert: the run waits with
    /// `made` in place; --wait keeps following while the operator fixes the
    /// variable and retries the failed step, then exits 0.
    @Test func onFailurePauseWaitsForTheOperatorAndWaitFollowsToTheEnd() async throws {
        let agent = try AgentProcess.start()
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        let world = try world(agent)
        let file = try AtomdProcess.temporaryJob(job(world))
        let waiting = try AtomdProcess.start(["submit", file, "--on-failure", "pause", "--wait", "--home", agent.home])
        try await waiting.waitForOutput(containing: "waiting for the operator")
        let runID = try await control.waitForRun(status: "paused", agent)
        #expect(waiting.stdout.contains("`atomd retry \(runID) gate` (or `skip`)"), "\(waiting.stdout)")
        #expect(release(world) == "1", "paused, not compensated")
        await #expect(try control.cli(["set", runID, "--var", "release=2"], agent).status == 0)
        await #expect(try control.cli(["retry", runID, "gate"], agent).status == 0)
        let ended = try await waiting.finish(within: .seconds(30))
        #expect(ended.status == 0, "\(ended.stdout)\n\(ended.stderr)")
        #expect(ended.stdout.contains("gate  succeeded (attempt 2)"), "\(ended.stdout)")
        #expect(release(world) == "1", "made ran once, before the pause")
    }

    @Test func anUndeclaredVarOrAnUnknownPolicyIsRefusedAndNothingIsWritten() async throws {
        let agent = try AgentProcess.start()
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        let file = try AtomdProcess.temporaryJob(job(try world(agent)))
        let undeclared = try await control.cli(["submit", file, "--var", "relase=2"], agent)
        #expect(undeclared.status == 2 && undeclared.stderr.contains("declares no variable 'relase'"), "\(undeclared.stderr)")
        let policy = try await control.cli(["submit", file, "--on-failure", "shrug"], agent)
        #expect(policy.status == 2, "\(policy.stderr)")
        let malformed = try await control.cli(["submit", file, "--var", "=2"], agent)
        #expect(malformed.status == 2 && malformed.stderr.contains("name=value"), "\(malformed.stderr)")
        // The API checks for itself what a client other than the CLI sends.
        let socket = agent.home + "/atomd.sock"
        for (query, says) in [("vars=%5B1%5D", "vars is not a JSON object"), ("on_failure=shrug", "unknown on_failure"),
                              ("vars=%7B%22nope%22%3A1%7D", "declares no variable 'nope'")] {
            let answer = try AgentControlTests.curl(socket, "/jobs?name=s.yaml&" + query,
                                                    extra: ["--data-binary", "@" + file, "-w", " %{http_code}"])
            #expect(answer.contains(says) && (answer.hasSuffix(" 400") || answer.hasSuffix(" 422")), "\(query): \(answer)")
        }
        #expect(incoming(agent).isEmpty, "\(incoming(agent))")
        #expect(agent.jobs(in: "done").isEmpty && agent.jobs(in: "failed").isEmpty)
    }

    /// Without an agent, the job and its sidecar wait in the spool; the
    /// agent started later runs it with the value. --wait without an agent
    /// writes nothing.
    @Test func varsWaitInTheSpoolForAnAgentThatIsNotRunning() async throws {
        let first = try AgentProcess.start()
        try await first.waitForLog("ready:")
        #expect(first.stop() == 0)
        let world = try world(first)
        let file = try AtomdProcess.temporaryJob(job(world))
        let refused = try await control.cli(["submit", file, "--var", "release=2", "--wait"], first)
        #expect(refused.status == 4 && refused.stderr.contains("nothing was submitted"), "\(refused.stderr)")
        #expect(incoming(first).isEmpty)
        let offline = try await control.cli(["submit", file, "--var", "release=2", "--json"], first)
        #expect(offline.status == 0, "\(offline.stderr)")
        #expect(incoming(first) == [".job.yaml.submit.json", "job.yaml"], "\(incoming(first))")
        let agent = try AgentProcess.start(home: first.home)
        defer { _ = agent.stop() }
        #expect(try await agent.waitForFiled(1).done == ["job.yaml"], "\(agent.log)")
        #expect(release(world) == "2")
        #expect(incoming(agent).isEmpty && !FileManager.default.fileExists(atPath: agent.spool + "/done/.job.yaml.submit.json"))
    }

    /// A job the agent refuses when it claims it (a secret it cannot read)
    /// never gets a run: --wait prints the report and exits 2.
    @Test func waitReportsAJobRefusedWhenClaimed() async throws {
        let agent = try AgentProcess.start()
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        let world = try world(agent)
        let yaml = job(world).replacingOccurrences(of: "vars: { release: 1 }",
                                                    with: "vars: { release: 1 }\nsecrets: { token: { env: ATOMD_TEST_UNSET_SECRET } }")
        let waited = try await wait(["submit", try AtomdProcess.temporaryJob(yaml), "--wait"], agent)
        #expect(waited.status == 2 && waited.stderr.contains("ATOMD_TEST_UNSET_SECRET"), "\(waited.stdout)\n\(waited.stderr)")
        #expect(agent.jobs(in: "failed") == ["job.yaml"])
        #expect(try agent.report("job.yaml")["submission"] is String, "the report keeps the submission's token")
        #expect(release(world) == nil)
    }
}
