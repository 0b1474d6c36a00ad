import AtomdEngine
import Synchronization
import AtomdSpec
import Testing

@Suite struct RetryAndTimeoutTests {
    @Test func stepsAreRetriedUntilTheySucceed() async throws {
        let harness = Harness()
        let report = try await harness.run(job("""
              - id: flaky
                uses: test.fail
                with: { attempts: 2 }
                retry: { attempts: 3, delay: 1ms }
            """))
        #expect(report.status == .succeeded)
        #expect(report.step("flaky")?.attempts == 3)
        #expect(harness.log.states(of: "flaky") == [.running, .running, .running, .succeeded])
        // Each attempt after a definite failure gets its own idempotency key.
        let keys = harness.log.events.compactMap { $0.stepID == "flaky" ? $0.idempotencyKey : nil }
        #expect(keys == (1...3).map { "\(report.runID)/flaky/\($0)" })
    }

    @Test func retriesStopAtTheAttemptLimit() async throws {
        let harness = Harness()
        let report = try await harness.run(job("  - id: a\n    uses: test.fail\n    with: { attempts: 5 }\n    retry: { attempts: 2, delay: 1ms }\n"))
        #expect(report.status == .reverted)
        #expect(report.step("a")?.attempts == 2)
    }

    @Test func onFiltersSelectWhichFailuresAreRetried() async throws {
        let harness = Harness()
        let retried = try await harness.run(job("  - id: a\n    uses: test.fail\n    with: { attempts: 1, exit_code: 75 }\n    retry: { attempts: 2, delay: 1ms, on: [75] }\n"))
        #expect(retried.status == .succeeded)
        let notRetried = try await Harness().run(job("  - id: a\n    uses: test.fail\n    with: { attempts: 1, exit_code: 1 }\n    retry: { attempts: 2, delay: 1ms, on: [75, timeout] }\n"))
        #expect(notRetried.status == .reverted)
        #expect(notRetried.step("a")?.attempts == 1)
    }

    @Test func backoffGrowsAndIsCapped() {
        let policy = RetryPolicy(attempts: 6, delay: .milliseconds(100), backoff: 2, maxDelay: .milliseconds(500))
        let delays = (2...6).map { policy.delay(beforeAttempt: $0, random: 0.5) }
        #expect(delays == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(500), .milliseconds(500)])
        let jittered = RetryPolicy(delay: .milliseconds(100), jitter: 0.2)
        #expect(jittered.delay(beforeAttempt: 2, random: 0) == .milliseconds(80))
        #expect(jittered.delay(beforeAttempt: 2, random: 0.999_999) == .milliseconds(120))
    }

    /// `attempts: 30, delay: 1s, backoff: 10` once trapped on an overflow.
    @Test func hostileBackoffSaturatesInsteadOfOverflowing() {
        let policy = RetryPolicy(attempts: 100, delay: .seconds(86_400 * 366), backoff: 10, jitter: 1)
        for attempt in [2, 30, 100, Int.max] {
            let wait = policy.delay(beforeAttempt: attempt, random: 0.999_999)
            #expect(wait >= .zero && wait <= RetryPolicy.longestDelay * 2)
        }
        #expect(RetryPolicy(attempts: 30, delay: .seconds(1), backoff: 10).delay(beforeAttempt: 30, random: 0) == RetryPolicy.longestDelay)
    }

    @Test func aTimeoutCancelsTheActionAndFailsTheStep() async throws {
        let harness = Harness()
        let report = try await harness.run(job("  - id: slow\n    uses: test.sleep\n    with: { for: 1h }\n    timeout: 20ms\n"))
        #expect(report.status == .reverted)
        #expect(report.step("slow")?.error == "timed out after 20ms")
    }

    @Test func timeoutsAreRetriedWhenAsked() async throws {
        let harness = Harness()
        let report = try await harness.run(job("  - id: slow\n    uses: test.sleep\n    with: { for: 1h }\n    timeout: 5ms\n    retry: { attempts: 2, delay: 1ms, on: [timeout] }\n"))
        #expect(report.step("slow")?.attempts == 2)
        // A timed-out call may have taken effect: its retry keeps the key.
        let keys = harness.log.events.filter { $0.stepID == "slow" && $0.kind == .step(.running) }.map(\.idempotencyKey)
        #expect(keys.count == 2 && Set(keys).count == 1, "\(keys)")
    }

    @Test func aRetryAfterADefiniteFailureGetsANewKey() async throws {
        let harness = Harness()
        _ = try await harness.run(job("  - id: flaky\n    uses: test.fail\n    with: { attempts: 1 }\n    retry: { attempts: 2, delay: 1ms }\n"))
        let keys = harness.log.events.filter { $0.stepID == "flaky" && $0.kind == .step(.running) }.compactMap(\.idempotencyKey)
        #expect(keys.map { $0.split(separator: "/").last } == ["1", "2"], "\(keys)")
    }
}

@Suite struct ConditionAndOutputTests {
    @Test func falseConditionsSkipSteps() async throws {
        let harness = Harness()
        let report = try await harness.run(job(world("a", fields: "if: vars.enabled") + world("b"), head: "vars: { enabled: false }\n"))
        #expect(report.step("a")?.status == .skipped)
        #expect(harness.world.flags == ["b"])
        let overridden = Harness()
        _ = try await overridden.run(job(world("a", fields: "if: vars.enabled"), head: "vars: { enabled: false }\n"), vars: ["enabled": .bool(true)])
        #expect(overridden.world.flags == ["a"])
    }

    @Test func outputsFlowBetweenSteps() async throws {
        let harness = Harness()
        let report = try await harness.run(job("""
              - id: make
                uses: test.noop
                with: { id: srv-7, size: 3 }
                outputs: { server: "${{ outputs.id }}", doubled: "${{ format('{0}{0}', outputs.size) }}" }
              - id: use
                uses: test.world
                with: { flag: "for-${{ steps.make.outputs.server }}-${{ steps.make.outputs.doubled }}" }
            """))
        #expect(report.step("make")?.outputs == .object(["server": .string("srv-7"), "doubled": .string("33")]))
        #expect(harness.world.flags == ["for-srv-7-33"])
    }

    @Test func secretsAreRedactedInEverythingPublished() async throws {
        let harness = Harness()
        _ = try await harness.run(job("""
              - id: a
                uses: test.noop
                with: { token: "${{ secrets.token }}" }
            """, head: "secrets: { token: { env: TOKEN } }\n"), secrets: ["token": "hunter2-secret"])
        let published = harness.log.events.map { "\($0.data?.json ?? "") \($0.detail ?? "")" }.joined()
        #expect(!published.contains("hunter2-secret"))
        #expect(published.contains("***"))
    }

    @Test func logLinesAndProgressReachListenersButNotTheJournal() async throws {
        let harness = Harness()
        _ = try await harness.run(job("  - id: nap\n    uses: test.sleep\n    with: { for: 8ms }\n"))
        let progress = harness.log.events.compactMap { event -> Double? in
            if case .progress(let fraction, _) = event.kind, event.stepPath == "nap" { fraction } else { nil }
        }
        #expect(progress == [0.25, 0.5, 0.75, 1])
        #expect(harness.log.events.contains { $0.kind == .log("sleeping 8ms") && $0.idempotencyKey == nil })
        #expect(!harness.journal.events.contains { if case .log = $0.kind { true } else if case .progress = $0.kind { true } else { false } })
    }

    @Test func setupErrorsNameWhatIsMissing() throws {
        let harness = Harness()
        #expect(throws: RunSetupError.self) { try harness.start(job("  - id: a\n    uses: cloud.attach\n")) }
        #expect(throws: RunSetupError.self) { try harness.start(job(world("a")), vars: ["nope": .integer(1)]) }
    }
}

@Suite struct GroupRetryAndFinallyTests {
    @Test func forEachRevertsTheFailedAttemptAndTriesTheNextItem() async throws {
        let harness = Harness()
        let report = try await harness.run(job("""
              - id: place
                retry: { for_each: [zone-a, zone-b] }
                outputs: { zone: "${{ retry.item }}" }
                group:
                  steps:
                    - id: server
                      uses: test.world
                      with: { flag: "server-${{ retry.item }}" }
                    - id: disk
                      uses: test.world
                      with: { flag: "disk-${{ retry.item }}", fail: "${{ retry.item == 'zone-a' && 'before' || 'no' }}" }
            """))
        #expect(report.status == .succeeded)
        #expect(harness.world.flags == ["server-zone-b", "disk-zone-b"])
        #expect(harness.cleared == ["server-zone-a"])
        #expect(report.step("place")?.outputs == .object(["zone": .string("zone-b")]))
        #expect(harness.log.states(of: "server") == [.running, .succeeded, .reverting, .reverted, .pending, .running, .succeeded])
    }

    @Test func timesRunsTheGroupAgain() async throws {
        let harness = Harness()
        let report = try await harness.run(job("""
              - id: g
                retry: { times: 3 }
                group:
                  steps:
                    - { id: flaky, uses: test.fail, with: { attempts: 2 } }
            """))
        #expect(report.status == .succeeded)
        #expect(report.step("flaky")?.attempts == 3)
    }

    @Test func anExhaustedGroupFailsTheRun() async throws {
        let harness = Harness()
        let report = try await harness.run(job(world("before") + """
              - id: g
                retry: { for_each: [a, b] }
                group:
                  steps:
            \(world("x", "fail: after", indent: 6))
            """))
        #expect(report.status == .reverted)
        #expect(harness.world.flags.isEmpty)
    }

    @Test func finallyRunsAfterSuccessAndAfterCompensationWithTheOutcome() async throws {
        let finallyBlock = "finally:\n  - id: report\n    uses: test.world\n    with: { flag: \"ended-${{ run.status }}\" }\n"
        let ok = Harness()
        _ = try await ok.run(job(world("a")) + finallyBlock)
        #expect(ok.world.flags == ["a", "ended-succeeded"])
        let failed = Harness()
        let report = try await failed.run(job(world("a") + world("b", "fail: before")) + finallyBlock)
        #expect(report.status == .reverted)
        #expect(failed.world.flags == ["ended-reverted"])
        #expect(failed.log.runStates.last == .reverted)
    }
}

@Suite struct OperatorTests {
    func pausedRun(_ harness: Harness) throws -> RunHandle {
        try harness.start(job(world("a") + """
              - id: flaky
                uses: test.fail
                with: { attempts: 1 }

            """ + world("c"), head: "on_failure: pause\n"))
    }

    func waitUntilWaiting(_ handle: RunHandle, _ step: String) async {
        while await !handle.waitingSteps().contains(step) { try? await Task.sleep(for: .milliseconds(2)) }
    }

    @Test func retryRunsTheFailedStepAgain() async throws {
        let harness = Harness()
        let handle = try pausedRun(harness)
        await waitUntilWaiting(handle, "flaky")
        #expect(harness.log.runStates.last == .paused)
        #expect(await handle.decide("flaky", .retry))
        let report = await handle.wait()
        #expect(report.status == .succeeded)
        #expect(harness.log.states(of: "flaky") == [.running, .failed, .running, .succeeded])
        #expect(harness.log.runStates == [.running, .paused, .running, .succeeded])
    }

    @Test func skipGoesOnWithoutTheStep() async throws {
        let harness = Harness()
        let handle = try pausedRun(harness)
        await waitUntilWaiting(handle, "flaky")
        await handle.decide("flaky", .skip)
        let report = await handle.wait()
        #expect(report.status == .succeeded)
        #expect(report.step("flaky")?.status == .skipped)
        #expect(harness.world.flags == ["a", "c"])
    }

    @Test func revertCompensates() async throws {
        let harness = Harness()
        let handle = try pausedRun(harness)
        await waitUntilWaiting(handle, "flaky")
        await handle.decide("flaky", .revert)
        let report = await handle.wait()
        #expect(report.status == .reverted)
        #expect(harness.world.flags.isEmpty)
    }

    @Test func cancelCancelsRunningStepsAndCompensates() async throws {
        let harness = Harness()
        let handle = try harness.start(job(world("a") + "  - id: wait\n    uses: test.sleep\n    with: { for: 1h }\n"))
        while harness.log.states(of: "wait").isEmpty { try? await Task.sleep(for: .milliseconds(2)) }
        await handle.cancel()
        let report = await handle.wait()
        #expect(report.status == .cancelled)
        #expect(harness.world.flags.isEmpty)
        #expect(report.step("wait")?.error == "cancelled")
    }

    @Test func pauseStopsNewStepsUntilResume() async throws {
        let gate = GateAtom()
        var harness = Harness()
        harness.extraAtoms = [gate]
        let handle = try harness.start(job("  - id: a\n    uses: probe.gate\n" + world("b")))
        await gate.waitForStarted(1)
        try await handle.pause()
        gate.open()
        while harness.log.states(of: "a") != [.running, .succeeded] { try? await Task.sleep(for: .milliseconds(2)) }
        #expect(harness.log.states(of: "b").isEmpty)
        try await handle.resume()
        let report = await handle.wait()
        #expect(report.status == .succeeded)
        #expect(harness.log.runStates == [.running, .paused, .running, .succeeded])
    }
}

@Suite struct ConcurrencyTests {
    @Test func parallelGroupsRespectMaxParallel() async throws {
        let gate = GateAtom()
        var harness = Harness()
        harness.extraAtoms = [gate]
        let steps = (1...6).map { "        - { id: p\($0), uses: probe.gate }\n" }.joined()
        let handle = try harness.start(job("  - id: g\n    group:\n      mode: parallel\n      max_parallel: 2\n      steps:\n" + steps))
        await gate.waitForStarted(2)
        #expect(gate.started == 2)
        gate.open()
        let report = await handle.wait()
        #expect(report.status == .succeeded)
        #expect(gate.peak == 2)
    }

    @Test func locksSerializeRunsAcrossTheEngine() async throws {
        let gate = GateAtom()
        var harness = Harness()
        harness.extraAtoms = [gate]
        let engine = harness.engine()
        let locked = try JobLoader.load(bytes: Array(job("  - id: a\n    uses: probe.gate\n    lock: shared\n").utf8), file: "t.yaml")
        let first = try engine.start(RunRequest(job: locked))
        let second = try engine.start(RunRequest(job: locked))
        await gate.waitForStarted(1)
        for _ in 0..<1000 { await Task.yield() }
        #expect(gate.started == 1)
        gate.open()
        _ = await first.wait()
        _ = await second.wait()
        #expect(gate.started == 2 && gate.peak == 1)
    }
}
