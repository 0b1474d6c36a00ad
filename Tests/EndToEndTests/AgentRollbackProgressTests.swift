import Foundation
import Testing

/// Issue 33: a rollback in progress through the real agent. A reserved
/// rollback from a group's last step runs the group again; while a
/// rollback reverts its path, the run says `rolling_back` (show, metrics,
/// the event stream) and refuses another rollback, a pause and a resume,
/// with why, instead of accepting and losing them.
@Suite(.timeLimit(.minutes(2))) struct AgentRollbackProgressTests {
    let control = AgentControlTests()
    let rollback = AgentRollbackTests()

    func ledger(_ world: String) -> [String] {
        ((try? String(contentsOfFile: world + "/ledger", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// A step that writes `exec ID` to the ledger (after waiting for `gate`,
    /// if given) and `revert ID` on revert (after waiting for `revertGate`).
    func step(_ id: String, _ world: String, gate: String? = nil, revertGate: String? = nil, indent: String = "  ") -> String {
        let wait = gate.map { "while [ ! -e \(world)/\($0) ]; do sleep 0.02; done; " } ?? ""
        let revertWait = revertGate.map { "while [ ! -e \(world)/\($0) ]; do sleep 0.02; done; " } ?? ""
        return #"\#(indent)- { id: \#(id), run: "\#(wait)echo exec \#(id) >> \#(world)/ledger", revert: "\#(revertWait)echo revert \#(id) >> \#(world)/ledger" }"#
    }

    func world(_ agent: AgentProcess) throws -> String {
        let world = agent.home + "/world"
        try FileManager.default.createDirectory(atPath: world, withIntermediateDirectories: false)
        return world
    }

    func release(_ world: String, _ gate: String) {
        _ = FileManager.default.createFile(atPath: world + "/" + gate, contents: nil)
    }

    /// A ready agent, its WORLD, and job NAME dropped: `head` (keys before
    /// the steps) and the steps `steps` writes for WORLD.
    func started(_ name: String, head: String = "", steps: (String) -> String) async throws -> (AgentProcess, String) {
        let agent = try AgentProcess.start()
        do {
            try await agent.waitForLog("ready:")
            let world = try world(agent)
            try agent.drop(name + ".yaml", "version: 1\nname: \(name)\n\(head)steps:\n" + steps(world))
            return (agent, world)
        } catch {
            _ = agent.stop()
            throw error
        }
    }

    @Test(arguments: ["sequence", "parallel"])
    func aReservedRollbackFromAGroupsLastStepRunsTheGroupAgain(mode: String) async throws {
        // In a parallel group the rollback stays in s2's branch: --to s2.
        let target = mode == "sequence" ? "s1" : "s2"
        let (agent, world) = try await started("group") { world in
            """
            \(step("a", world))
              - id: s
                group:
                  mode: \(mode)
                  steps:
            \(step("s1", world, indent: "        "))
            \(step("s2", world, gate: "go", indent: "        "))
            \(step("c", world))
            """
        }
        defer { _ = agent.stop() }
        let runID = try await control.waitForRun(status: "running", agent)
        try await rollback.waitFor(runID, status: "running", steps: ["s1": "succeeded", "s2": "running"], agent)
        let reserved = try await control.cli(["rollback", runID, "--to", target, "--from", "s2", "--reserve"], agent)
        #expect(reserved.status == 0, "\(reserved.stderr)")
        release(world, "go")
        let reset = mode == "sequence" ? ["s": "pending", "s1": "pending", "s2": "pending"] : ["s": "pending", "s2": "pending"]
        try await rollback.waitFor(runID, status: "paused", steps: reset, agent)
        await #expect(try control.cli(["resume", runID], agent).status == 0)
        #expect(try await agent.waitForFiled(1).done == ["group.yaml"], "\(agent.log)")
        let expected = mode == "sequence"
            ? ["exec a", "exec s1", "exec s2", "revert s2", "revert s1", "exec s1", "exec s2", "exec c"]
            : ["exec a", "exec s1", "exec s2", "revert s2", "exec s2", "exec c"]
        #expect(ledger(world) == expected, "the group ran again before c")
    }

    /// ANY mode can be reserved too: --from names the step to wait for.
    @Test func anAnyModeRollbackCanBeReserved() async throws {
        let (agent, world) = try await started("any") { world in
            """
            \(step("a", world))
            \(step("b", world, gate: "go"))
            \(step("c", world))
            """
        }
        defer { _ = agent.stop() }
        let runID = try await control.waitForRun(status: "running", agent)
        try await rollback.waitFor(runID, status: "running", steps: ["b": "running"], agent)
        let reserved = try await control.cli(["rollback", runID, "--to", "a", "--from", "b", "--mode", "any", "--reserve"], agent)
        #expect(reserved.status == 0, "\(reserved.stderr)")
        release(world, "go")
        try await rollback.waitFor(runID, status: "paused", steps: ["a": "pending", "b": "pending"], agent)
        await #expect(try control.cli(["resume", runID], agent).status == 0)
        #expect(try await agent.waitForFiled(1).done == ["any.yaml"], "\(agent.log)")
        #expect(ledger(world) == ["exec a", "exec b", "exec a", "exec b", "exec c"], "nothing reverted, a and b ran again")
    }

    @Test func whileRollingBackTheRunSaysSoAndRefusesWhatCannotApplyNow() async throws {
        let (agent, world) = try await started("slow", head: "on_failure: pause\n") { world in
            """
            \(step("x", world))
            \(step("y", world))
            \(step("z", world, revertGate: "undo"))
              - { id: d, run: "exit 1" }
            """
        }
        defer { _ = agent.stop() }
        let runID = try await control.waitForRun(status: "paused", agent)
        let asked = try await control.cli(["rollback", runID, "--to", "y", "--from", "d"], agent)
        #expect(asked.status == 0, "\(asked.stderr)")
        try await rollback.waitFor(runID, status: "rolling_back", steps: ["z": "reverting"], agent)
        await #expect(try control.cli(["show", runID], agent).stdout.contains("rolling_back"))

        let second = try await control.cli(["rollback", runID, "--to", "x", "--from", "y"], agent)
        #expect(second.status == 2 && second.stderr.contains("already rolling back to 'y'") && second.stderr.contains("one-at-a-time"),
                "\(second.stdout)\(second.stderr)")
        for verb in ["resume", "pause"] {
            let refused = try await control.cli([verb, runID], agent)
            #expect(refused.status == 2 && refused.stderr.contains("is rolling back to 'y' and cannot be"), "\(verb): \(refused.stderr)")
        }
        let socket = agent.home + "/atomd.sock"
        let metrics = try AgentControlTests.curl(socket, "/metrics")
        #expect(metrics.contains(#"atomd_runs_active{state="rolling_back"} 1"#), "\(metrics)")

        release(world, "undo")
        try await rollback.waitFor(runID, status: "paused", steps: ["y": "pending", "z": "pending", "d": "pending", "x": "succeeded"], agent)
        #expect(ledger(world) == ["exec x", "exec y", "exec z", "revert z", "revert y"], "the refused rollback to x never happened")
        let events = try AgentControlTests.curl(socket, "/runs/\(runID)/events?follow=false")
        #expect(events.contains(#""status":"rolling_back""#) || events.contains("rolling_back"), "\(events)")
        await #expect(try control.cli(["resume", runID], agent).status == 0)
        try await rollback.waitFor(runID, status: "paused", steps: ["d": "failed"], agent)
        #expect(ledger(world).suffix(2) == ["exec y", "exec z"])
    }
}

/// Issue 33, from bamboo-pipeline: steps kept in place during a TOKEN
/// rollback (`--keep`, bamboo's skip_rollback_nodes), and new values for a
/// retried revert (`--retry --var`, bamboo's retry_data).
extension AgentRollbackProgressTests {
    @Test func keptStepsAreNeitherRevertedNorRunAgain() async throws {
        let (agent, world) = try await started("keep", head: "on_failure: pause\n") { world in
            """
            \(step("a", world))
            \(step("b", world))
            \(step("c", world))
              - { id: d, run: "test -e \(world)/fixed && echo exec d >> \(world)/ledger" }
            """
        }
        defer { _ = agent.stop() }
        let runID = try await control.waitForRun(status: "paused", agent)
        for (keep, says) in [("a", "is not on the path"), ("b", "is the target"), ("d", "only a succeeded step is kept")] {
            let refused = try await control.cli(["rollback", runID, "--to", "b", "--keep", keep], agent)
            #expect(refused.status == 2 && refused.stderr.contains(says), "--keep \(keep): \(refused.stderr)")
        }
        let socket = agent.home + "/atomd.sock"
        let any = try AgentControlTests.curl(socket, "/runs/\(runID)/rollback", headers: ["Content-Type: application/json"],
                                             extra: ["--data", #"{"to": "b", "mode": "any", "keep": ["c"]}"#])
        #expect(any.contains("keep-token"), "\(any)")
        #expect(ledger(world) == ["exec a", "exec b", "exec c"], "no refusal changed anything")

        let asked = try await control.cli(["rollback", runID, "--to", "b", "--keep", "c"], agent)
        #expect(asked.status == 0 && asked.stdout.contains("reverting d, b (newest first), keeping c in place"), "\(asked.stdout)\(asked.stderr)")
        try await rollback.waitFor(runID, status: "paused", steps: ["b": "pending", "c": "succeeded", "d": "pending"], agent)
        let events = try AgentControlTests.curl(socket, "/runs/\(runID)/events?follow=false")
        #expect(events.contains("kept in place by the rollback to 'b'") && events.contains("keeping c"), "\(events)")
        release(world, "fixed")
        await #expect(try control.cli(["resume", runID], agent).status == 0)
        #expect(try await agent.waitForFiled(1).done == ["keep.yaml"], "\(agent.log)")
        #expect(ledger(world) == ["exec a", "exec b", "exec c", "revert b", "exec b", "exec d"], "c kept: not reverted, not run again")
    }

    @Test func aRetriedRevertTakesNewValues() async throws {
        let (agent, world) = try await started("retry", head: "vars: { region: nowhere }\n") { world in
            """
              - { id: a, run: "echo exec a >> \(world)/ledger", revert: "test -d \(world)/${{ vars.region }} && echo revert a in ${{ vars.region }} >> \(world)/ledger" }
              - { id: b, run: "exit 1" }
            """
        }
        defer { _ = agent.stop() }
        let filed = try await agent.waitForFiled(1)
        #expect(filed.failed == ["retry.yaml"])
        let runID = try await control.waitForRun(status: "revert_failed", agent)
        let unknown = try await control.cli(["rollback", runID, "--retry", "--var", "zone=x"], agent)
        #expect(unknown.status == 2 && unknown.stderr.contains("declares no variable 'zone'"), "\(unknown.stderr)")
        await #expect(try control.cli(["show", runID], agent).stdout.contains("revert_failed"), "a refused retry leaves the run as it was")
        try FileManager.default.createDirectory(atPath: world + "/eu", withIntermediateDirectories: false)
        let retried = try await control.cli(["rollback", runID, "--retry", "--var", "region=eu"], agent)
        #expect(retried.status == 0, "\(retried.stderr)")
        try await rollback.waitFor(runID, status: "reverted", steps: ["a": "reverted"], agent)
        #expect(ledger(world) == ["exec a", "revert a in eu"])
        let events = try AgentControlTests.curl(agent.home + "/atomd.sock", "/runs/\(runID)/events?follow=false")
        #expect(events.contains("the operator set region=eu"), "journaled before the retried revert: \(events)")
    }
}

extension AgentRollbackProgressTests {
    /// a; a parallel group of x and y (which waits for the gate `go`); c.
    func parallel(_ world: String, checkingY: Bool = false) -> String {
        let y = step("y", world, gate: "go", indent: "        ")
        return """
            \(step("a", world))
              - id: g
                group:
                  mode: parallel
                  steps:
            \(step("x", world, indent: "        "))
            \(checkingY ? y.replacingOccurrences(of: " }", with: #", check: "grep -qx 'exec y' \#(world)/ledger" }"#) : y)
            \(step("c", world))
            """
    }
}

/// Found by attacking issue 33's changes: a rollback accepted while a step
/// elsewhere still runs is journaled when accepted, so an agent killed
/// before it is carried out carries it out after the restart.
extension AgentRollbackProgressTests {
    @Test func anAcceptedRollbackSurvivesAKilledAgent() async throws {
        // y's check settles it after the kill (its process went on and finished).
        let (agent, world) = try await started("parallel", head: "on_failure: pause\n") { parallel($0, checkingY: true) }
        let runID = try await control.waitForRun(status: "running", agent)
        try await rollback.waitFor(runID, status: "running", steps: ["x": "succeeded", "y": "running"], agent)
        let asked = try await control.cli(["rollback", runID, "--to", "x", "--from", "x"], agent)
        #expect(asked.status == 0, "\(asked.stderr)")
        agent.signal(SIGKILL)
        _ = agent.waitForExit()
        release(world, "go")
        let restarted = try AgentProcess.start(home: agent.home)
        defer { _ = restarted.stop() }
        try await rollback.waitFor(runID, status: "paused", steps: ["x": "pending"], restarted)
        await #expect(try control.cli(["resume", runID], restarted).status == 0)
        #expect(try await restarted.waitForFiled(1).done == ["parallel.yaml"], "\(restarted.log)")
        let ledger = ledger(world)
        #expect(ledger.filter { $0 == "revert x" }.count == 1 && ledger.filter { $0 == "exec x" }.count == 2
                && ledger.last == "exec c", "x reverted once and run again: \(ledger)")
    }
}

extension AgentRollbackProgressTests {
    /// A reservation whose step succeeds while another rollback waits is
    /// dropped with a note saying why, not silently.
    @Test func aReservationOvertakenByAnotherRollbackSaysItIsDropped() async throws {
        let (agent, world) = try await started("overtaken", head: "on_failure: pause\n") { parallel($0) }
        defer { _ = agent.stop() }
        let runID = try await control.waitForRun(status: "running", agent)
        try await rollback.waitFor(runID, status: "running", steps: ["x": "succeeded", "y": "running"], agent)
        await #expect(try control.cli(["rollback", runID, "--to", "y", "--from", "y", "--reserve"], agent).status == 0)
        await #expect(try control.cli(["rollback", runID, "--to", "x", "--from", "x"], agent).status == 0)
        release(world, "go")
        try await rollback.waitFor(runID, status: "paused", steps: ["x": "pending", "y": "succeeded"], agent)
        let events = try AgentControlTests.curl(agent.home + "/atomd.sock", "/runs/\(runID)/events?follow=false")
        #expect(events.contains("the reserved rollback to 'y' is dropped: the rollback to 'x' was asked first"), "\(events)")
        await #expect(!(try control.cli(["show", runID], agent).stdout.contains("rollback reserved")))
        #expect(ledger(world) == ["exec a", "exec x", "exec y", "revert x"])
    }
}

extension AgentRollbackProgressTests {
    /// A revert undoes what its step did: with the variables the step ran
    /// with, not the values an operator set since (`atomd set`), which only
    /// the steps run again see.
    @Test func aRevertUsesTheVariablesItsStepRanWith() async throws {
        let (agent, world) = try await started("region", head: "on_failure: pause\nvars: { region: old }\n") { world in
            """
              - { id: a, run: "echo exec a ${{ vars.region }} >> \(world)/ledger", revert: "echo revert a ${{ vars.region }} >> \(world)/ledger" }
              - { id: d, run: "test -e \(world)/fixed" }
            """
        }
        defer { _ = agent.stop() }
        let runID = try await control.waitForRun(status: "paused", agent)
        await #expect(try control.cli(["set", runID, "--var", "region=new"], agent).status == 0)
        await #expect(try control.cli(["rollback", runID, "--to", "a"], agent).status == 0)
        try await rollback.waitFor(runID, status: "paused", steps: ["a": "pending"], agent)
        release(world, "fixed")
        await #expect(try control.cli(["resume", runID], agent).status == 0)
        #expect(try await agent.waitForFiled(1).done == ["region.yaml"], "\(agent.log)")
        #expect(ledger(world) == ["exec a old", "revert a old", "exec a new"], "the revert undid what a did, in old")
    }
}
