import AtomdEngine
import AtomdSpec
import Testing

/// Failures injected by `atomd rehearse`: where the run fails, what
/// compensation then undoes (the test world's flags), and what the audit
/// after compensation reports.
@Suite(.timeLimit(.minutes(1))) struct RehearsalTests {
    static let abc = job(world("a") + world("b") + world("c"))

    @Test func aFailureAfterTheExecuteRevertsTheStepItselfThenTheOnesBefore() async throws {
        let harness = Harness()
        let report = try await harness.run(Self.abc, injected: InjectedFailure(step: "b", when: .after))
        #expect(report.status == .reverted)
        #expect(harness.set == ["a", "b"], "c never ran")
        #expect(harness.cleared == ["b", "a"])
        #expect(harness.world.flags.isEmpty)
        #expect(report.step("b")?.error?.contains("injected after the execute") == true)
        #expect(report.leftBehind.isEmpty)
    }

    @Test func aFailureInPlaceOfTheExecuteRevertsOnlyTheStepsBefore() async throws {
        let harness = Harness()
        let report = try await harness.run(Self.abc, injected: InjectedFailure(step: "b", when: .instead))
        #expect(report.status == .reverted)
        #expect(harness.set == ["a"] && harness.cleared == ["a"])
        #expect(report.leftBehind.isEmpty)
    }

    /// The failure reaches compensation through `continue_on_error`, a
    /// false `if:`, and a converge step found done (not run again, not
    /// reverted).
    @Test func theFailureIsInjectedWhereverTheStepWouldNot() async throws {
        let ignored = job(world("a") + world("b", fields: "continue_on_error: true") + world("c"))
        let harness = Harness()
        #expect(try await harness.run(ignored, injected: InjectedFailure(step: "b", when: .after)).status == .reverted)
        #expect(harness.cleared == ["b", "a"])

        let skipped = job(world("a") + world("b", fields: "if: 1 == 2"))
        let second = Harness()
        #expect(try await second.run(skipped, injected: InjectedFailure(step: "b", when: .after)).status == .reverted)
        #expect(second.set == ["a"] && second.cleared == ["a"])

        let converged = job(world("a") + world("b", fields: "converge: true") + world("c"))
        let third = Harness()
        third.world.preset("b")
        let report = try await third.run(converged, injected: InjectedFailure(step: "b", when: .after))
        #expect(report.status == .reverted)
        #expect(third.set == ["a"], "b was found done and not run again")
        #expect(third.cleared == ["a"] && third.world.flags == ["b"], "what the run found is left as found")
        #expect(report.leftBehind.isEmpty)
    }

    /// A revert that does nothing: compensation sees the check still
    /// finding the flag (revert_failed) and stops there, so a is left too;
    /// the audit names both.
    @Test func theAuditNamesWhatCompensationLeftBehind() async throws {
        let broken = job(world("a") + world("b", fields: "revert: { uses: test.noop }") + world("c"))
        let harness = Harness()
        let report = try await harness.run(broken, injected: InjectedFailure(step: "c", when: .instead))
        #expect(report.status == .revertFailed)
        #expect(report.leftBehind.map(\.step) == ["a", "b"], "\(report.leftBehind)")
        #expect(report.leftBehind.first?.text.contains("still present") == true)
        #expect(harness.journal.events.contains { $0.stepID == "b" && $0.data?["rehearsal_difference"] == .string("check") })
    }

    @Test func aRunWithoutAnInjectedFailureIsNotAudited() async throws {
        let broken = job(world("a", fields: "revert: { uses: test.noop }") + "  - { id: f, uses: test.fail, with: { always: true } }\n")
        let harness = Harness()
        let report = try await harness.run(broken)
        #expect(report.status == .revertFailed)
        #expect(report.leftBehind.isEmpty)
        #expect(!harness.journal.events.contains { $0.data?["rehearsal_difference"] != nil && $0.data?["rehearsal_difference"] != .null })
    }
}
