import Foundation
import Testing

/// A TOKEN rollback through the real agent, killed (SIGKILL, by the journal's
/// crash hook) at every journal write it makes, before and after the write
/// is committed; then the agent is started again. Whatever the point, the
/// rollback happens exactly once: each step is reverted once, newest first
/// (a revert the crash interrupted between its start and its end record
/// runs again, under the same idempotency key, as docs/journal.md says),
/// the world is as one rollback leaves it, and the run then goes on to
/// success without reverting anything more.
@Suite(.serialized, .timeLimit(.minutes(10))) struct AgentRollbackCrashTests {
    let control = AgentControlTests()
    let rollback = AgentRollbackTests()

    /// An agent on a fresh home with the crash hook's variables, running
    /// AgentRollbackTests' job (reverts logged) until it pauses at d.
    func pausedRun(_ environment: [String: String]) async throws -> (AgentProcess, runID: String, world: String) {
        let agent = try AgentProcess.start(environment: environment)
        let (runID, world) = try await rollback.start(agent, logReverts: true)
        return (agent, runID, world)
    }

    func tally(_ path: String) -> Int {
        Int((try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
    }

    /// The revert calls: step and idempotency key, in order.
    func reverts(_ world: String) -> [(step: String, key: String)] {
        ((try? String(contentsOfFile: world + "/reverts", encoding: .utf8)) ?? "").split(separator: "\n").map {
            let words = $0.split(separator: " ")
            return (String(words.first ?? ""), String(words.last ?? ""))
        }
    }

    /// Each of c and b reverted, newest first; a repeated call is the
    /// interrupted one, right after itself and with the same key.
    func expectRevertedOnce(_ calls: [(step: String, key: String)], _ context: String) {
        var steps: [String] = [], keys: [String: Set<String>] = [:]
        for call in calls {
            if steps.last != call.step { steps.append(call.step) }
            keys[call.step, default: []].insert(call.key)
        }
        #expect(steps == ["c", "b"], "\(calls); \(context)")
        #expect(keys.values.allSatisfy { $0.count == 1 }, "a repeated revert keeps its key: \(calls); \(context)")
        #expect(calls.count <= 3, "only the interrupted revert runs twice: \(calls); \(context)")
    }

    func stepStatus(_ runID: String, _ step: String, _ agent: AgentProcess) async throws -> String? {
        let shown = try await control.cli(["show", runID, "--json"], agent).stdout
        let steps = (try JSONSerialization.jsonObject(with: Data(shown.utf8)) as? [String: Any])?["steps"] as? [[String: Any]]
        return steps?.first { $0["id"] as? String == step }?["status"] as? String
    }

    /// Waits until the agent has killed itself (at most 30 seconds).
    func waitForDeath(_ agent: AgentProcess) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while agent.running.process.isRunning {
            try #require(ContinuousClock.now < deadline, "the agent did not crash:\n\(agent.log)")
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    @Test func aRollbackKilledAtEveryJournalWriteHappensExactlyOnce() async throws {
        // Count the writes: those before the rollback, and the rollback's own.
        let tallyFile = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-tally-\(UUID().uuidString)").path
        let (counted, countedRun, countedWorld) = try await pausedRun(["ATOMD_CRASH_TALLY": tallyFile])
        let before = tally(tallyFile)
        await #expect(try control.cli(["rollback", countedRun, "--to", "b"], counted).status == 0)
        try await rollback.waitFor(countedRun, status: "paused", steps: ["b": "pending", "c": "pending", "d": "pending"], counted)
        let after = tally(tallyFile)
        _ = counted.stop()
        #expect(reverts(countedWorld).map(\.step) == ["c", "b"])
        try #require(after - before >= 8, "a rollback of three steps writes its plan, reverts, resets and end: \(before)...\(after)")

        var repeated: [String] = []
        for when in ["before", "after"] {
            for write in (before + 1)...after {
                let context = "crash \(when) write \(write) (the rollback's \(write - before) of \(after - before))"
                let (agent, runID, world) = try await pausedRun(["ATOMD_CRASH_AT": "\(write)", "ATOMD_CRASH_WHEN": when])
                // The agent may die before it answers: the answer is not the point.
                _ = try await control.cli(["rollback", runID, "--to", "b"], agent)
                try await waitForDeath(agent)
                let restarted = try AgentProcess.start(home: agent.home)
                defer { _ = restarted.stop() }
                try await restarted.waitForLog("ready:")
                if try await stepStatus(runID, "d", restarted) == "failed" && reverts(world).isEmpty {
                    // Killed before the rollback was journaled: it never
                    // began, and the operator asks again.
                    await #expect(try control.cli(["rollback", runID, "--to", "b"], restarted).status == 0, "\(context)")
                }
                try await rollback.waitFor(runID, status: "paused", steps: ["b": "pending", "c": "pending", "d": "pending"], restarted)
                let calls = reverts(world)
                if calls.count > 2 { repeated.append("\(when) \(write - before)") }
                expectRevertedOnce(calls, context)
                #expect(rollback.files(world) == ["a"], "\(context)")
                await #expect(try control.cli(["set", runID, "--var", "release=2"], restarted).status == 0, "\(context)")
                await #expect(try control.cli(["resume", runID], restarted).status == 0, "\(context)")
                #expect(try await restarted.waitForFiled(1).done == ["rollback.yaml"], "\(context)")
                #expect(rollback.files(world) == ["a", "b", "c"], "\(context)")
                #expect(reverts(world).count == calls.count, "nothing reverted again on the way to success; \(context)")
            }
        }
        FileHandle.standardError.write(Data("rollback writes: \(after - before); crashes that repeated the interrupted revert: \(repeated)\n".utf8))
    }
}
