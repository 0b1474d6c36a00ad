import AtomdEngine
import AtomdSpec
import Testing

@Suite struct CompensationTests {
    @Test func successLeavesEveryEffectAndRecordsEachTransition() async throws {
        let harness = Harness()
        let report = try await harness.run(job(world("a") + world("b") + world("c")))
        #expect(report.status == .succeeded)
        #expect(harness.world.flags == ["a", "b", "c"])
        #expect(harness.log.states(of: "b") == [.running, .succeeded])
        #expect(harness.log.runStates == [.running, .succeeded])
        // Write-ahead: the journal holds every transition the listeners saw.
        #expect(harness.journal.events.count == harness.log.events.filter { if case .log = $0.kind { false } else { true } }.count)
    }

    @Test func aFailureRevertsDoneStepsNewestFirst() async throws {
        let harness = Harness()
        let report = try await harness.run(job(world("a") + world("b") + world("c") + world("d", "fail: before")))
        #expect(report.status == .reverted)
        #expect(harness.world.flags.isEmpty)
        #expect(harness.cleared == ["c", "b", "a"])
        #expect(report.step("d")?.status == .failed)
        #expect(report.step("a")?.status == .reverted)
        #expect(harness.log.runStates == [.running, .reverting, .reverted])
        #expect(report.status.exitCode == 1)
    }

    @Test func theFailedStepIsRevertedWhenItsCheckFindsTheEffect() async throws {
        let harness = Harness()
        let report = try await harness.run(job(world("a") + world("b", "fail: after")))
        #expect(report.status == .reverted)
        #expect(harness.cleared == ["b", "a"])
        #expect(harness.log.notes(of: "b").contains("after the failure, check: present"))
    }

    @Test func theFailedStepIsNotRevertedWhenItsCheckFindsNothing() async throws {
        let harness = Harness()
        let report = try await harness.run(job(world("a") + world("b", "fail: before")))
        #expect(harness.cleared == ["a"])
        #expect(report.step("b")?.compensation == "nothing to undo (check: absent)")
    }

    @Test func aFailedStepWithoutCheckIsReverted() async throws {
        let harness = Harness()
        let report = try await harness.run(job("""
              - id: a
                uses: test.fail
                with: { always: true }
                revert: { uses: test.world, with: { flag: undo-a } }
            """))
        #expect(report.status == .reverted)
        // The explicit revert ran even though execute never got anywhere.
        #expect(harness.set == ["undo-a"])
    }

    @Test func irreversibleStepsAreRecordedAndSkipped() async throws {
        let harness = Harness()
        let report = try await harness.run(job(world("a") + world("b", fields: "revert: none") + world("c", "fail: before")))
        #expect(report.status == .reverted)
        #expect(harness.world.flags == ["b"])
        #expect(report.step("b")?.compensation == "left in place (revert: none)")
        #expect(report.step("b")?.status == .succeeded)
    }

    @Test func aFailingRevertStopsCompensationAndSaysWhatIsLeft() async throws {
        let harness = Harness()
        let report = try await harness.run(job(world("a") + world("b", "revert_fails: true") + world("c") + world("d", "fail: before")))
        #expect(report.status == .revertFailed)
        #expect(report.status.exitCode == 3)
        #expect(harness.cleared == ["c"])
        #expect(harness.world.flags == ["a", "b"])
        #expect(report.step("b")?.status == .revertFailed)
        #expect(report.step("b")?.error?.contains("the revert of step 'b' failed") == true)
        #expect(report.step("a")?.status == .succeeded)
    }

    @Test func aRevertIsRetriedByItsOwnPolicy() async throws {
        let harness = Harness()
        let report = try await harness.run(job("""
              - id: a
                uses: test.noop
                revert: { uses: test.fail, with: { attempts: 2 }, retry: { attempts: 3, delay: 1ms } }
              - id: b
                uses: test.fail
                with: { always: true }
            """))
        #expect(report.status == .reverted)
        #expect(harness.log.notes(of: "a").filter { $0.hasPrefix("revert attempt") }.count == 2)
    }

    @Test func aRevertThatNeedsUnrecordedOutputsFailsWithTheIdempotencyKey() async throws {
        let harness = Harness()
        // The check cannot tell, so nothing supplies the output either.
        let report = try await harness.run(job("""
              - id: a
                uses: test.world
                with: { flag: a, fail: after, check_unknown: true }
                revert: { uses: test.world, with: { flag: "${{ outputs.flag }}", clear: true } }
            """))
        #expect(report.status == .revertFailed)
        let error = try #require(report.step("a")?.error)
        #expect(error.contains("needs output 'flag', which was never recorded"))
        #expect(error.contains("idempotency key \(report.runID)/a/1"))
    }

    /// Issue 34, item 6: what the check finds for a failed step (the id of
    /// what a lost answer would have named) reaches its revert.
    @Test func theOutputsACheckFindsForAFailedStepReachItsRevert() async throws {
        let harness = Harness()
        let report = try await harness.run(job("""
              - id: a
                uses: test.world
                with: { flag: a, fail: after }
                revert: { uses: test.world, with: { flag: "${{ outputs.flag }}", clear: true } }
            """))
        #expect(report.status == .reverted, "\(report.step("a")?.error ?? "")")
        #expect(!harness.world.isSet("a"), "the revert cleared the flag the check named")
        #expect(harness.log.notes(of: "a").contains { $0.contains("the check's answer gives its revert: flag") })
    }

    @Test func convergedStepsAreSkippedAndNeverReverted() async throws {
        let harness = Harness()
        harness.world.preset("a")
        let report = try await harness.run(job(world("a", fields: "converge: true") + world("b") + world("c", "fail: before")))
        #expect(report.step("a")?.status == .skipped)
        #expect(harness.log.events.contains { $0.stepID == "a" && $0.detail == "skipped (already present)" })
        #expect(harness.world.flags == ["a"])
        #expect(harness.cleared == ["b"])
    }

    @Test func convergeRunsTheStepWhenTheEffectIsAbsent() async throws {
        let harness = Harness()
        let report = try await harness.run(job(world("a", fields: "converge: true")))
        #expect(report.step("a")?.status == .succeeded)
        #expect(harness.set == ["a"])
    }

    @Test func ignoredStepsLetTheJobGoOnAndAreRevertedPerCheck() async throws {
        let harness = Harness()
        let report = try await harness.run(job(world("a", "fail: after", fields: "continue_on_error: true") + world("b") + world("c", "fail: before")))
        #expect(report.step("a")?.status == .reverted)
        #expect(harness.log.states(of: "a").starts(with: [.running, .ignored]))
        #expect(harness.cleared == ["b", "a"])
    }

    @Test func parallelBranchesRevertAndGraphsRevertDependentsFirst() async throws {
        let harness = Harness()
        let report = try await harness.run(job("""
              - id: g
                group:
                  mode: graph
                  steps:
            \(world("a", indent: 6))\(world("b", indent: 6, fields: "needs: a"))\(world("c", indent: 6, fields: "needs: a"))\(world("d", indent: 6, fields: "needs: [b, c]"))
            \(world("e", "fail: before"))
            """))
        #expect(report.status == .reverted)
        let order = harness.cleared
        #expect(order.count == 4)
        #expect(order.first == "d" && order.last == "a")
        #expect(Set(order[1...2]) == ["b", "c"])
        #expect(report.step("g")?.status == .reverted)
    }

    @Test func onFailureFailLeavesEverythingInPlace() async throws {
        let harness = Harness()
        let report = try await harness.run(job(world("a") + world("b", "fail: before"), head: "on_failure: fail\n"))
        #expect(report.status == .failed)
        #expect(report.status.exitCode == 3)
        #expect(harness.world.flags == ["a"])
        #expect(harness.cleared.isEmpty)
    }
}
