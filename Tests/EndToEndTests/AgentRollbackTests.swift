import Foundation
import Testing

/// Operator rollback through the real agent and CLI: what the world looks
/// like after a rollback (files its reverts removed), after the re-run, and
/// after a revert that failed and was retried.
@Suite(.timeLimit(.minutes(2))) struct AgentRollbackTests {
    let control = AgentControlTests()

    /// a, b, c each create a file and remove it on revert; d fails until
    /// `fixed` exists or the variable release is 2. With `brokenRevert`, b's revert fails while `broken`
    /// exists. With `logReverts`, each revert adds its step and idempotency
    /// key to WORLD/reverts.
    func job(_ world: String, brokenRevert: Bool = false, logReverts: Bool = false) -> String {
        func step(_ id: String) -> String {
            var revert = "rm -f \(world)/\(id)"
            if brokenRevert, id == "b" { revert = "test ! -e \(world)/broken && " + revert }
            if logReverts { revert += "; echo \(id) $ATOMD_IDEMPOTENCY_KEY >> \(world)/reverts" }
            return #"  - { id: \#(id), run: "touch \#(world)/\#(id)", revert: "\#(revert)", check: "test -e \#(world)/\#(id)" }"#
        }
        return """
            version: 1
            name: rollback
            on_failure: pause
            vars: { release: 1 }
            steps:
            \(step("a"))
            \(step("b"))
            \(step("c"))
              - { id: d, run: "test -e \(world)/fixed || test ${{ vars.release }} = 2" }
            """
    }

    func files(_ world: String) -> Set<String> {
        Set(((try? FileManager.default.contentsOfDirectory(atPath: world)) ?? []).filter { ["a", "b", "c"].contains($0) })
    }

    func start(_ agent: AgentProcess, brokenRevert: Bool = false, logReverts: Bool = false) async throws -> (runID: String, world: String) {
        try await agent.waitForLog("ready:")
        let world = agent.home + "/world"
        try FileManager.default.createDirectory(atPath: world, withIntermediateDirectories: false)
        try agent.drop("rollback.yaml", job(world, brokenRevert: brokenRevert, logReverts: logReverts))
        let runID = try await control.waitForRun(status: "paused", agent)
        #expect(files(world) == ["a", "b", "c"])
        return (runID, world)
    }

    /// Waits until the run and the given steps have these statuses.
    func waitFor(_ runID: String, status: String, steps: [String: String], _ agent: AgentProcess) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let shown = try await control.cli(["show", runID, "--json"], agent)
            let detail = try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any]
            let now = Dictionary(((detail?["steps"] as? [[String: Any]]) ?? []).compactMap { step in
                (step["id"] as? String).map { ($0, step["status"] as? String ?? "") }
            }, uniquingKeysWith: { $1 })
            if (detail?["run"] as? [String: Any])?["status"] as? String == status, steps.allSatisfy({ now[$0.key] == $0.value }) { return }
            try #require(ContinuousClock.now < deadline, "run \(runID) never reached \(status) with \(steps): \(shown.stdout)")
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    @Test func rollBackToAStepFixAndResumeToSuccess() async throws {
        let agent = try AgentProcess.start()
        defer { _ = agent.stop() }
        let (runID, world) = try await start(agent)
        let targets = try await control.cli(["rollback", runID, "--targets"], agent)
        #expect(targets.status == 0, "\(targets.stderr)")
        for line in ["a  allowed", "b  allowed", "c  allowed", "d  no: 'd' is failed"] {
            #expect(targets.stdout.contains(line), "\(line): \(targets.stdout)")
        }
        let refused = try await control.cli(["rollback", runID, "--to", "d"], agent)
        #expect(refused.status == 2 && refused.stderr.contains("[rule: target-succeeded]"), "\(refused.stderr)")
        let rolled = try await control.cli(["rollback", runID, "--to", "b"], agent)
        #expect(rolled.status == 0, "\(rolled.stderr)")
        #expect(rolled.stdout.contains("from d back to b, reverting d, c, b (newest first)"), "\(rolled.stdout)")
        try await waitFor(runID, status: "paused", steps: ["b": "pending", "c": "pending", "d": "pending"], agent)
        #expect(files(world) == ["a"], "b and c reverted, a kept")
        let unknown = try await control.cli(["set", runID, "--var", "relase=2"], agent)
        #expect(unknown.status == 2 && unknown.stderr.contains("declares no variable 'relase'"), "\(unknown.stderr)")
        let set = try await control.cli(["set", runID, "--var", "release=2"], agent)
        #expect(set.status == 0, "\(set.stderr)")
        await #expect(try control.cli(["show", runID], agent).stdout.contains("--var release=2"))
        await #expect(try control.cli(["resume", runID], agent).status == 0)
        #expect(try await agent.waitForFiled(1).done == ["rollback.yaml"])
        #expect(files(world) == ["a", "b", "c"])
    }

    @Test func hostileRollbackBodiesAreRefusedAndChangeNothing() async throws {
        let agent = try AgentProcess.start()
        defer { _ = agent.stop() }
        let (runID, world) = try await start(agent)
        let socket = agent.home + "/atomd.sock"
        let bodies: [(String, String)] = [
            ("not json", "the body is not a JSON object"),
            ("[1]", "the body is not a JSON object"),
            (#"{"to": 5}"#, "must name the step to roll back to"),
            (#"{"to": "b", "form": "c"}"#, "unknown key 'form'"),
            (#"{"to": "b", "mode": "sideways"}"#, "unknown mode 'sideways'"),
            (#"{"to": "b", "resume": "yes"}"#, "must be true or false"),
            (#"{"to": "b\u0000"}"#, "no step"),
            ("{\"to\": \"" + String(repeating: "b", count: 5000) + "\"}", ""),
        ]
        for (body, says) in bodies {
            let file = try AtomdProcess.temporaryJob(body)
            let answer = try AgentControlTests.curl(socket, "/runs/\(runID)/rollback", extra: ["--data-binary", "@" + file, "-w", " %{http_code}"])
            #expect(answer.hasSuffix(" 400") || answer.hasSuffix(" 409") || answer.hasSuffix(" 413"), "\(body.prefix(40)): \(answer)")
            #expect(says.isEmpty || answer.contains(says), "\(body.prefix(40)): \(answer)")
        }
        #expect(files(world) == ["a", "b", "c"], "nothing was reverted")
        let targets = try await control.cli(["rollback", runID, "--targets", "--json"], agent)
        let list = try JSONSerialization.jsonObject(with: Data(targets.stdout.utf8)) as? [[String: Any]]
        #expect(list?.filter { $0["allowed"] as? Bool == true }.count == 3, "the run still waits as it was: \(targets.stdout)")
    }

    /// The revert of b fails during the rollback: the run ends
    /// revert_failed (filed failed); after the fault is fixed, --retry
    /// reopens it, the rollback finishes, and the run resumes to success.
    @Test func aFailedRevertIsRetriedAndTheRunGoesOnToSuccess() async throws {
        let agent = try AgentProcess.start()
        defer { _ = agent.stop() }
        let (runID, world) = try await start(agent, brokenRevert: true)
        #expect(FileManager.default.createFile(atPath: world + "/broken", contents: nil))
        await #expect(try control.cli(["rollback", runID, "--to", "a"], agent).status == 0)
        #expect(try await agent.waitForFiled(1).failed == ["rollback.yaml"])
        #expect(files(world) == ["a", "b"], "c reverted; b's revert failed, so a was not reached")
        let early = try await control.cli(["rollback", runID, "--to", "a"], agent)
        // Issue 33: the refusal says how to go on.
        #expect(early.status == 2 && early.stderr.contains("the run is revert_failed") && early.stderr.contains("--retry"), "\(early.stderr)")
        try FileManager.default.removeItem(atPath: world + "/broken")
        let retried = try await control.cli(["rollback", runID, "--retry"], agent)
        #expect(retried.status == 0, "\(retried.stderr)")
        try await waitFor(runID, status: "paused", steps: ["a": "pending", "b": "pending"], agent)
        #expect(files(world).isEmpty)
        // Issue 33: a stream of the reopened run follows it past its first
        // `closed`, to the end of the retried rollback and the run.
        let socket = agent.home + "/atomd.sock"
        let follower = Process()
        follower.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        follower.arguments = ["-sSN", "--max-time", "60", "--unix-socket", socket, "http://atomd/runs/\(runID)/events"]
        let stream = Pipe()
        follower.standardOutput = stream
        follower.standardError = FileHandle.nullDevice
        try follower.run()
        #expect(FileManager.default.createFile(atPath: world + "/fixed", contents: nil))
        await #expect(try control.cli(["resume", runID], agent).status == 0)
        let filed = try await agent.waitForFiled(2)
        #expect(filed.done == ["rollback.yaml"], "\(filed)")
        #expect(files(world) == ["a", "b", "c"])
        let followed = String(decoding: stream.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        follower.waitUntilExit()
        #expect(followed.components(separatedBy: "event: closed").count - 1 == 1 && followed.contains("retries the failed revert"),
                "one closing, the run's end, after the retry: \(followed)")
        #expect(followed.contains(#""status":"succeeded""#) && followed.hasSuffix("\n\n"), "\(followed.suffix(600))")
        let replayed = try AgentControlTests.curl(socket, "/runs/\(runID)/events?follow=false")
        #expect(replayed.contains(#""status":"succeeded""#), "the replay goes past the first closing: \(replayed.suffix(600))")
        #expect(replayed.components(separatedBy: "event: closed").count - 1 == 1, "\(replayed.suffix(600))")
        await #expect(try control.cli(["rollback", runID, "--retry"], agent).status == 2, "an ended, succeeded run has nothing to retry")
    }

    @Test func aReservedRollbackFiresWhenItsStepSucceeds() async throws {
        let agent = try AgentProcess.start()
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        let world = agent.home + "/world"
        try FileManager.default.createDirectory(atPath: world, withIntermediateDirectories: false)
        try agent.drop("reserve.yaml", """
            version: 1
            name: reserve
            steps:
              - { id: a, run: "touch \(world)/a", revert: "rm -f \(world)/a" }
              - { id: b, run: "while [ ! -e \(world)/go ]; do sleep 0.02; done; touch \(world)/b", revert: "rm -f \(world)/b" }
              - { id: c, run: "touch \(world)/c", revert: "rm -f \(world)/c" }
            """)
        let runID = try await control.waitForRun(status: "running", agent)
        try await waitFor(runID, status: "running", steps: ["b": "running"], agent)
        let reserved = try await control.cli(["rollback", runID, "--to", "a", "--from", "b", "--reserve"], agent)
        #expect(reserved.status == 0, "\(reserved.stderr)")
        await #expect(try control.cli(["show", runID], agent).stdout.contains("rollback reserved: when 'b' succeeds, back to 'a' (token)"))
        #expect(FileManager.default.createFile(atPath: world + "/go", contents: nil))
        try await waitFor(runID, status: "paused", steps: ["a": "pending", "b": "pending"], agent)
        #expect(files(world).isEmpty, "a and b reverted; c never ran")
        let cancel = try await control.cli(["rollback", runID, "--cancel"], agent)
        #expect(cancel.status == 2 && cancel.stderr.contains("no rollback reserved"), "\(cancel.stderr)")
        await #expect(try control.cli(["resume", runID], agent).status == 0)
        #expect(try await agent.waitForFiled(1).done == ["reserve.yaml"])
        #expect(files(world) == ["a", "b", "c"])
    }

    @Test func revertCompensatesAPausedRunAsAWhole() async throws {
        let agent = try AgentProcess.start()
        defer { _ = agent.stop() }
        let (runID, world) = try await start(agent)
        await #expect(try control.cli(["revert", runID], agent).status == 0)
        #expect(try await agent.waitForFiled(1).failed == ["rollback.yaml"])
        #expect(files(world).isEmpty)
    }
}
