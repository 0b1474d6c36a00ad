import AtomdEngine
import AtomdSpec
import Testing

/// A step's outcome shares the run's next commit (one commit per step), but
/// is never held back while the run waits: the journal has it before the
/// run waits for another branch or a lock, and listeners see it only once
/// the journal has it.
@Suite(.timeLimit(.minutes(2))) struct SharedCommitTests {
    private func journaled(_ harness: Harness, _ step: String, _ status: StepStatus) -> Bool {
        harness.journal.events.contains { $0.stepID == step && $0.kind == .step(status) }
    }

    /// Waits for `condition`, for 60 s at most: an outcome held back fails
    /// the test instead of hanging it. The bound is wide because the held
    /// steps run for an hour, and other tests in this process may keep the
    /// few cooperative threads busy for a while (a CI run starved this for
    /// 20 s).
    private func eventually(_ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(60)
        while !condition() {
            guard ContinuousClock.now < deadline else { return false }
            // A short sleep, not Task.yield(): a spinning test holds one of
            // the few cooperative threads the run it waits for needs.
            try? await Task.sleep(for: .milliseconds(5))
        }
        return true
    }

    @Test func anOutcomeIsStoredWhileAnotherBranchStillRuns() async throws {
        let harness = Harness()
        let handle = try harness.start(job("""
              - id: g
                group:
                  mode: parallel
                  steps:
                    - { id: quick, uses: test.noop }
                    - { id: slow, uses: test.sleep, with: { for: 1h } }
            """))
        // Nothing else in this run will ever be journaled until `slow`
        // ends: `quick`'s outcome must not wait for it.
        #expect(await eventually { journaled(harness, "quick", .succeeded) }, "quick's outcome waited for the slow branch")
        #expect(harness.log.states(of: "slow") == [.running])
        await handle.cancel()
        #expect(await handle.wait().status == .cancelled)
    }

    @Test func anOutcomeIsStoredBeforeTheNextStepWaitsForALock() async throws {
        let harness = Harness()
        let engine = harness.engine()
        let holder = try engine.start(RunRequest(job: try JobLoader.load(bytes: Array(job(
            "  - { id: hold, uses: test.sleep, with: { for: 1h }, lock: db }\n").utf8), file: "h.yaml")))
        try #require(await eventually { harness.log.states(of: "hold") == [.running] })
        let waiter = try engine.start(RunRequest(job: try JobLoader.load(bytes: Array(job("""
              - { id: first, uses: test.noop }
              - { id: locked, uses: test.noop, lock: db }
            """).utf8), file: "w.yaml")))
        #expect(await eventually { journaled(harness, "first", .succeeded) }, "first's outcome waited for the lock")
        #expect(!journaled(harness, "locked", .running), "the locked step started while the lock was held")
        await holder.cancel()
        #expect(await holder.wait().status == .cancelled)
        #expect(await waiter.wait().status == .succeeded)
    }

    @Test func listenersSeeAnOutcomeOnlyOnceItIsStored() async throws {
        let harness = Harness()
        let report = try await harness.run(job((1...20).map { "  - { id: s\($0), uses: test.noop }\n" }.joined()))
        #expect(report.status == .succeeded)
        let delivered = harness.log.events.filter { $0.kind != .closed }.map(\.sequence)
        let stored = harness.journal.events.map(\.sequence)
        // The same events, in the same order: nothing shown that was not stored.
        #expect(delivered == Array(stored.prefix(delivered.count)))
        #expect(stored.count == 20 * 2 + 3)
    }
}
