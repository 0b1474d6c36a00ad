import AtomdEngine
import AtomdTestSupport
import Foundation
import Testing
@testable import AtomdSpec

/// Resuming runs from their journaled events (DESIGN.md section 5).
@Suite struct RecoveryTests {
    private func load(_ yaml: String) throws -> Job {
        try JobLoader.load(bytes: Array(yaml.utf8), file: "test.yaml")
    }

    @Test func aStepCutAfterItsEffectIsFoundByItsCheckAndNotRunAgain() async throws {
        let place = TestWorld()
        let scenario = CrashScenario(job: try load(job(world("a") + world("b"))), world: place)
        // Writes: run running (1), a running (2), a succeeded (3): crash before 3.
        let outcome = try await scenario.run(crashes: [(at: 3, after: false)])
        #expect(outcome.report.status == .succeeded)
        #expect(place.log.filter { $0 == .set(flag: "a", step: "a") }.count == 1, "a ran again: \(place.log)")
        #expect(outcome.report.step("a")?.outputs == .object(["flag": .string("a")]), "outputs come from the check")
    }

    @Test func aStepCutBeforeItsEffectRunsAgainWithItsOwnIdempotencyKey() async throws {
        let place = TestWorld()
        let scenario = CrashScenario(job: try load(job(world("a") + world("b"))), world: place)
        // Write 2 is a's start: stored, then the crash, before execute.
        let outcome = try await scenario.run(crashes: [(at: 2, after: true)])
        let starts = outcome.events.filter { $0.stepID == "a" && $0.kind == .step(.running) }
        #expect(starts.map(\.attempt) == [1, 2], "the attempt shown goes up")
        #expect(Set(starts.map(\.idempotencyKey)) == ["crash-test/a/1"], "the key does not")
        #expect(outcome.report.status == .succeeded)
        #expect(place.flags == ["a", "b"])
    }

    /// Issue 32, item 8: an idempotent step cut short runs again and its
    /// real outcome decides, even when its check finds its change: the change
    /// was made, the step (here: a test after it) was going to fail.
    @Test func anIdempotentStepInDoubtRunsAgainWhateverItsCheckSays() async throws {
        let place = TestWorld()
        let steps = "  - id: a\n    uses: test.world\n    with: { flag: a, fail: after }\n    idempotent: true\n" + world("b")
        let scenario = CrashScenario(job: try load(job(steps)), world: place)
        // Writes: run running (1), a running (2), a failed (3): crash before 3,
        // with a's flag set and its check saying present.
        let outcome = try await scenario.run(crashes: [(at: 3, after: false)])
        #expect(outcome.report.status == .reverted, "\(outcome.report.status)")
        #expect((outcome.report.step("a")?.attempts ?? 0) >= 2)
        #expect(!place.flags.contains("b"), "b ran after a step that never succeeded")
    }

    @Test func withoutACheckOnlyIdempotentStepsRunAgain() async throws {
        let place = TestWorld()
        let steps = "  - id: a\n    uses: test.world-nocheck\n    with: { flag: a }\n    idempotent: true\n"
            + "  - id: b\n    uses: test.world-nocheck\n    with: { flag: b }\n"
        var scenario = CrashScenario(job: try load(job(steps)), world: place)
        scenario.extraAtoms = [NoCheckWorldAtom(world: place)]
        // a's start is write 2: a runs again and succeeds.
        let idempotent = try await scenario.run(crashes: [(at: 2, after: true)])
        #expect(idempotent.report.status == .succeeded)
        #expect(idempotent.report.step("a")?.attempts == 2)

        // Crash before write 4 (b's outcome, with the run's end; write 3 is
        // a's outcome with b's start): b is in doubt with no check and is
        // not idempotent, so the run is compensated, b included.
        let other = TestWorld()
        var second = CrashScenario(job: try load(job(steps)), world: other)
        second.extraAtoms = [NoCheckWorldAtom(world: other)]
        let outcome = try await second.run(crashes: [(at: 4, after: false)])
        #expect(outcome.report.status == .reverted)
        #expect(outcome.report.step("b")?.error?.contains("not marked idempotent") == true, "\(outcome.report.step("b")?.error ?? "")")
        #expect(other.flags.isEmpty, "left behind: \(other.flags)")
    }

    @Test func aCheckThatNeedsUnrecordedOutputsIsNotUsable() async throws {
        let place = TestWorld()
        let steps = world("a", fields: "check:\n  uses: test.world\n  with: { flag: \"${{ outputs.flag }}\" }")
        let scenario = CrashScenario(job: try load(job(steps)), world: place)
        let outcome = try await scenario.run(crashes: [(at: 3, after: false)])
        #expect(outcome.report.status == .reverted)
        #expect(outcome.report.step("a")?.error?.contains("needs output 'flag'") == true, "\(outcome.report.step("a")?.error ?? "")")
    }

    /// `mask:` outputs are journaled masked; after a crash they are missing
    /// (a revert needing one says so), never `***` taken for a value.
    @Test func aMaskedOutputIsJournaledMaskedAndMissingAfterACrash() async throws {
        let place = TestWorld()
        let scenario = CrashScenario(job: try load(job(world("alpha", fields: "mask: [flag]") + world("beta"))), world: place)
        let full = try await scenario.run(crashes: [])
        let stored = full.events.first { $0.stepID == "alpha" && $0.kind == .step(.succeeded) }
        #expect(stored?.data?["outputs"]["flag"] == .string("***"))
        #expect(full.report.step("alpha")?.outputs?["flag"] == .string("***"), "the report leaves the engine masked")
        #expect(full.report.step("beta")?.outputs?["flag"] == .string("beta"))

        // Write 3 holds alpha's outcome and beta's start.
        let cut = try await CrashScenario(job: try load(job(world("alpha", fields: "mask: [flag]") + world("beta"))), world: TestWorld())
            .run(crashes: [(at: 3, after: true)])
        #expect(cut.report.status == .succeeded)
        #expect(cut.report.step("alpha")?.outputs == .object([:]), "\(String(describing: cut.report.step("alpha")?.outputs))")
    }

    @Test func aRevertUnderWayRunsAgainAndTheRunEndsReverted() async throws {
        let place = TestWorld()
        let scenario = CrashScenario(job: try load(job(world("a") + world("b", "fail: before"))), world: place)
        let full = try await scenario.run(crashes: [])
        let revertStart = try #require(full.events.firstIndex { $0.stepID == "a" && $0.kind == .step(.reverting) })
        place.thaw()
        let other = TestWorld()
        let cut = CrashScenario(job: scenario.job, world: other)
        // Crash right after a's revert started was recorded.
        let outcome = try await cut.run(crashes: [(at: revertStart + 1, after: true)])
        #expect(outcome.report.status == .reverted)
        #expect(other.flags.isEmpty)
        #expect(outcome.events.filter { $0.kind == .run(.reverting) }.count == 1)
    }

    @Test func finallyStepsRunWhenTheCrashCameAfterTheOutcome() async throws {
        let place = TestWorld()
        let yaml = job(world("a")) + "finally:\n" + world("f")
        let scenario = CrashScenario(job: try load(yaml), world: place)
        // Writes: running, a running, a succeeded, run succeeded (4): crash after 4.
        let outcome = try await scenario.run(crashes: [(at: 4, after: true)])
        #expect(outcome.report.status == .succeeded)
        #expect(outcome.report.step("f")?.status == .succeeded)
        #expect(outcome.events.last?.kind == .closed)
    }

    @Test func aClosedRunCannotBeResumed() async throws {
        let place = TestWorld()
        let scenario = CrashScenario(job: try load(job(world("a"))), world: place)
        let outcome = try await scenario.run(crashes: [])
        #expect(throws: RunSetupError.self) {
            try scenario.engine(InMemoryJournal()).resume(RunRequest(job: scenario.job, runID: "crash-test"), history: outcome.events)
        }
    }

    /// Every crash point, before and after each write, then a second crash at
    /// every point of the recovery: the run ends as if nothing had happened,
    /// or fully compensated.
    @Test(arguments: [
        job(world("a") + world("b") + world("c")),
        job(world("a") + world("b") + world("c", "fail: after")),
        job("  - id: g\n    group:\n      mode: parallel\n      steps:\n" + world("p", indent: 8) + world("q", indent: 8) + world("c", "fail: before")),
        job("  - id: g\n    retry: { times: 2 }\n    group:\n      steps:\n" + world("x", indent: 8)
            + world("y", "fail: after", indent: 8)),
        job(world("a", fields: "revert: none") + world("b", fields: "converge: true") + world("c", "fail: before"))
            + "finally:\n" + world("f"),
    ])
    func everyCrashPointEndsDoneOrCompensated(_ yaml: String) async throws {
        let parsed = try load(yaml)
        let total = try await CrashScenario(job: parsed, world: TestWorld()).run(crashes: []).writes[0]
        var cases = 0
        for first in 1...total {
            for after in [false, true] {
                let place = TestWorld()
                let scenario = CrashScenario(job: parsed, world: place)
                let once = try await scenario.run(crashes: [(at: first, after: after)])
                try expectDoneOrCompensated(once.report, place, parsed, "crash at \(first) \(after ? "after" : "before")\n\(yaml)")
                cases += 1
                guard once.writes.count > 1 else { continue }
                for second in 1...max(1, once.writes[1]) {
                    let again = TestWorld()
                    let twice = try await CrashScenario(job: parsed, world: again)
                        .run(crashes: [(at: first, after: after), (at: second, after: !after)])
                    try expectDoneOrCompensated(twice.report, again, parsed,
                                                "crash at \(first), then at \(second) of the recovery\n\(yaml)")
                    cases += 1
                }
            }
        }
        #expect(cases > total * 2)
    }

    /// Random jobs (the generator of the invariant test), each cut at a
    /// seeded random write and, half the time, cut again during recovery.
    @Test func randomJobsSurviveCrashesAtRandomPoints() async throws {
        let base = UInt64(ProcessInfo.processInfo.environment["ATOMD_SEED"] ?? "") ?? UInt64.random(in: 1...UInt64.max / 2)
        for offset in 0..<UInt64(RandomizedInvariantTests.jobs / 2) {
            let seed = base &+ offset
            var generator = JobGenerator(seed: seed, wide: false)
            let text = generator.job()
            let parsed = try load(text)
            var random = SeededGenerator(seed: seed)
            let total = try await crashScenario(parsed, presets: generator.presets).run(crashes: []).writes[0]
            var crashes = [(at: Int.random(in: 1...total, using: &random), after: Bool.random(using: &random))]
            if Bool.random(using: &random) { crashes.append((at: Int.random(in: 1...total, using: &random), after: Bool.random(using: &random))) }
            let scenario = crashScenario(parsed, presets: generator.presets)
            let outcome = try await scenario.run(crashes: crashes)
            try expectDoneOrCompensated(outcome.report, scenario.world, parsed,
                                        "seed \(seed), crashes \(crashes) (replay: ATOMD_SEED=\(seed) ATOMD_RANDOM_JOBS=2)\n\(text)",
                                        presets: generator.presets)
        }
    }

    private func crashScenario(_ job: Job, presets: Set<String>) -> CrashScenario {
        let place = TestWorld()
        for flag in presets { place.preset(flag) }
        var scenario = CrashScenario(job: job, world: place)
        scenario.extraAtoms = [NoCheckWorldAtom(world: place)]
        return scenario
    }
}

/// The transaction promise after any crash: succeeded with every done step's
/// effect present, or reverted with nothing left but what cannot be undone.
func expectDoneOrCompensated(_ report: RunReport, _ world: TestWorld, _ job: Job, _ context: String,
                             presets: Set<String> = []) throws {
    let steps = Dictionary(uniqueKeysWithValues: job.allSteps.map { ($0.id, $0) })
    #expect(report.status == .succeeded || report.status == .reverted, "status \(report.status); \(context)")
    switch report.status {
    case .succeeded:
        for record in report.steps where steps[record.id]?.group == nil && record.status == .succeeded {
            #expect(world.isSet(record.id), "\(record.id) missing after success; \(context)")
        }
    case .reverted:
        let irreversible = Set(world.log.compactMap { operation -> String? in
            guard case .set(let flag, _) = operation, steps[flag]?.revert == .irreversible else { return nil }
            return flag
        })
        let finallyDone = Set(report.steps.filter { record in job.finally.contains { $0.id == record.id } }.map(\.id))
        #expect(world.flags.subtracting(finallyDone) == presets.union(irreversible), "left behind; \(context)")
    default:
        break
    }
}
