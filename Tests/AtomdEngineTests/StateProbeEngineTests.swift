import AtomdEngine
import AtomdSpec
import Testing

/// `state:` probes in the engine: what revert reads, drift, and recovery.
@Suite struct StateProbeEngineTests {
    private func harness(_ cell: CellAtom) -> Harness {
        var harness = Harness()
        harness.extraAtoms = [cell]
        return harness
    }

    @Test func theRevertWritesBackTheStateFoundBefore() async throws {
        let cell = CellAtom(["x": "old"])
        let harness = harness(cell)
        let report = try await harness.run(job(cellStep("a", value: "new") + world("b", "fail: before")))
        #expect(report.status == .reverted)
        #expect(cell["x"] == "old")
        #expect(report.step("a")?.stateBefore == .object(["value": .string("old")]))
        #expect(report.step("a")?.stateAfter == .object(["value": .string("new")]))
        let succeeded = harness.log.events.first { $0.stepID == "a" && $0.kind == .step(.succeeded) }
        #expect(succeeded?.data?["old_state"] == .object(["value": .string("old")]), "journaled with the outcome")
    }

    @Test func aFailedStepWhoseStateDidNotChangeIsNotReverted() async throws {
        // Writes the same value it found, then fails: nothing changed.
        let cell = CellAtom(["x": "same"])
        let harness = harness(cell)
        let report = try await harness.run(job(cellStep("a", value: "same", fail: true)))
        #expect(report.status == .reverted)
        #expect(report.step("a")?.compensation == "nothing to undo (state unchanged)")
        #expect(!harness.log.states(of: "a").contains(.reverting))
    }

    /// Someone changes the cell after the step ran and before it is
    /// reverted: an event, and under on_failure: pause a question.
    private func drifted(_ decision: OperatorDecision) async throws -> (CellAtom, Harness, RunReport) {
        let cell = CellAtom(["x": "old"])
        let harness = harness(cell)
        let handle = try harness.start(job(cellStep("a", value: "new") + world("b", "fail: before"), head: "on_failure: pause\n"))
        while await !handle.waitingSteps().contains("b") { try? await Task.sleep(for: .milliseconds(2)) }
        cell.set("x", "theirs")
        await handle.decide("b", .revert)
        while await !handle.waitingSteps().contains("a") { try? await Task.sleep(for: .milliseconds(2)) }
        #expect(harness.log.notes(of: "a").contains("state changed since the step ran: value: new → theirs"))
        await handle.decide("a", decision)
        return (cell, harness, await handle.wait())
    }

    @Test func skipLeavesAStateThatChangedSinceTheStepRan() async throws {
        let (cell, _, report) = try await drifted(.skip)
        #expect(cell["x"] == "theirs")
        #expect(report.step("a")?.compensation?.contains("the operator chose skip") == true)
    }

    @Test func revertRestoresItAnyway() async throws {
        let (cell, harness, report) = try await drifted(.revert)
        #expect(cell["x"] == "old")
        #expect(report.status == .reverted)
        #expect(harness.log.states(of: "a").suffix(2) == [.reverting, .reverted])
    }

    @Test func withoutPauseDriftIsReportedAndTheRevertRuns() async throws {
        let cell = CellAtom(["x": "old"])
        let harness = harness(cell)
        let steps = cellStep("a", value: "new") + "  - id: b\n    uses: probe.cell\n    with: { cell: x, value: theirs, fail: true }\n"
        let report = try await harness.run(job(steps))
        #expect(report.status == .reverted)
        #expect(cell["x"] == "old")
        #expect(harness.log.notes(of: "a").contains("state changed since the step ran: value: new → theirs"))
    }

    /// At every crash point the state found before is known to the revert
    /// of the resumed run: the cell always ends as it was.
    @Test func theStateBeforeSurvivesACrashAtEveryPoint() async throws {
        let parsed = try JobLoader.load(bytes: Array(job(cellStep("a", value: "new") + world("b", "fail: before")).utf8), file: "t.yaml")
        var probe = CrashScenario(job: parsed, world: TestWorld())
        probe.extraAtoms = [CellAtom(["x": "old"])]
        let total = try await probe.run(crashes: []).writes[0]
        for point in 1...total {
            for after in [false, true] {
                let cell = CellAtom(["x": "old"])
                var scenario = CrashScenario(job: parsed, world: TestWorld())
                scenario.extraAtoms = [cell]
                let outcome = try await scenario.run(crashes: [(at: point, after: after)])
                #expect(outcome.report.status == .reverted, "crash \(after ? "after" : "before") write \(point)")
                #expect(cell["x"] == "old", "crash \(after ? "after" : "before") write \(point): \(outcome.report.step("a")?.error ?? "")")
            }
        }
    }
}
