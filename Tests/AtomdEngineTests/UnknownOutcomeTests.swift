import AtomdEngine
import AtomdSpec
import Testing

/// Issue 34: an attempt whose answer was lost may have taken effect. The
/// step stays in doubt until its check says otherwise, its retry goes out
/// under the same key after asking the check, and a later refusal does not
/// prove that nothing changed.
@Suite(.timeLimit(.minutes(1))) struct UnknownOutcomeTests {
    private func keys(_ harness: Harness, _ step: String) -> [String] {
        harness.journal.events.filter { $0.stepID == step && $0.kind == .step(.running) }.compactMap(\.idempotencyKey)
    }

    /// Bug 1: attempt 1 made the thing and lost its answer, attempt 2 was
    /// refused as a duplicate. Without a check that can tell, the step is
    /// reverted: what attempt 1 made is not left behind.
    @Test func aRefusalAfterALostAnswerIsStillUndone() async throws {
        let harness = Harness()
        let report = try await harness.run(job("""
              - id: group
                uses: test.world
                with: { flag: sg, fail: unknown, refuse_duplicate: true, check_unknown: true }
                retry: { attempts: 3, delay: 1ms }
              - id: later
                uses: test.fail
                with: { always: true }
            """))
        #expect(report.status == .failed || report.status == .reverted, "\(report.status)")
        #expect(!harness.world.isSet("sg"), "the thing attempt 1 made was left behind")
        #expect(harness.cleared.contains("sg"))
        #expect(harness.log.notes(of: "group").contains { $0.contains("attempt 1's outcome is unknown") })
        // Attempt 2 repeated attempt 1 under its key.
        let used = keys(harness, "group")
        #expect(used.count == 2 && Set(used).count == 1, "\(used)")
    }

    /// Bug 2: before repeating, the check is asked; present settles the step
    /// with what the check reports, and no second request goes out.
    @Test func aCheckThatFindsTheEffectSettlesTheStepWithoutASecondRequest() async throws {
        let harness = Harness()
        let report = try await harness.run(job("""
              - id: volume
                uses: test.world
                with: { flag: vol, fail: unknown, refuse_duplicate: true }
                retry: { attempts: 3, delay: 1ms }
            """))
        #expect(report.status == .succeeded, "\(report.step("volume")?.error ?? "")")
        #expect(report.step("volume")?.outputs?["flag"] == .string("vol"))
        #expect(keys(harness, "volume").count == 1, "a second request went out")
        #expect(harness.log.notes(of: "volume").contains { $0.contains("before repeating attempt 1, check: present") })
    }

    /// Bug 3: outputs that the check's answer cannot give are an error that
    /// names them, and the effect the check found is undone.
    @Test func outputsASettlingCheckCannotGiveAreNamed() async throws {
        let harness = Harness()
        let report = try await harness.run(job("""
              - id: server
                uses: test.world
                with: { flag: srv, fail: unknown }
                retry: { attempts: 2, delay: 1ms }
                outputs: { id: "${{ outputs.id }}", flag: "${{ outputs.flag }}" }
            """))
        #expect(report.status == .reverted, "\(report.status)")
        let error = try #require(report.step("server")?.error)
        #expect(error.contains("output id cannot be recomputed"), "\(error)")
        #expect(!error.contains("flag"), "flag came from the check: \(error)")
        #expect(!harness.world.isSet("srv"))
    }

    /// A step's own `timeout:` is an unknown outcome too: the retry asks
    /// the check first and reuses the key.
    @Test func aTimedOutAttemptIsRepeatedUnderItsKeyAfterTheCheck() async throws {
        let harness = Harness()
        let report = try await harness.run(job("""
              - id: slow
                uses: test.sleep
                with: { for: 5s }
                timeout: 50ms
                retry: { attempts: 2, delay: 1ms }
            """))
        #expect(report.status != .succeeded)
        let used = keys(harness, "slow")
        #expect(used.count == 2 && Set(used).count == 1, "\(used)")
    }

    /// Found by review: an operator's retry of a step in doubt goes out
    /// under the doubtful attempt's key, after asking the check, not as a
    /// fresh series with a new key.
    @Test func anOperatorsRetryOfAStepInDoubtKeepsTheKey() async throws {
        let harness = Harness()
        let handle = try harness.start(job("""
              - id: create
                uses: test.world
                with: { flag: made, fail: unknown, check_unknown: true }
            """, head: "on_failure: pause\n"))
        for round in 1...2 {
            let deadline = ContinuousClock.now + .seconds(30)
            while await !handle.waitingSteps().contains("create"), ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(2))
            }
            if round == 1 { #expect(await handle.decide("create", .retry)) } else { await handle.decide("create", .revert) }
        }
        _ = await handle.wait()
        let used = keys(harness, "create")
        #expect(used.count == 2 && Set(used).count == 1, "the operator's retry got a new key: \(used)")
        #expect(harness.log.notes(of: "create").contains { $0.contains("before repeating attempt 1, check: unknown") })
    }

    /// The key is readable in expressions (EC2's ClientToken goes in the
    /// body) and is the same on the repeated attempt.
    @Test func theIdempotencyKeyIsAnExpressionValue() async throws {
        let harness = Harness()
        let report = try await harness.run(job("""
              - id: token
                uses: test.world
                with: { flag: "${{ step.idempotency_key }}", fail: unknown, check_unknown: true }
                retry: { attempts: 2, delay: 1ms }
            """))
        #expect(report.status == .reverted || report.status == .failed)
        let key = "\(report.runID)/token/1"
        #expect(harness.log.states(of: "token").contains(.failed))
        #expect(harness.cleared.contains(key), "the revert undid the flag named by the key: \(harness.cleared)")
    }
}
