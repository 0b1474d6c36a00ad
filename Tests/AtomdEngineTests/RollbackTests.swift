import AtomdEngine
import AtomdSpec
import Synchronization
import Testing

/// Operator rollback (DESIGN.md section 4) against the test world: what a
/// rollback reverts, in which order, what runs again and under which key,
/// and every rule that refuses one, with what it says.
@Suite(.timeLimit(.minutes(1))) struct RollbackTests {
    static let pause = "on_failure: pause\n"
    /// a, b, c set flags; d fails its first attempt and then succeeds.
    static let linear = job(world("a") + world("b") + world("c") + "  - { id: d, uses: test.fail, with: { attempts: 1 } }\n", head: pause)

    @Test func aTokenRollbackRevertsThePathNewestFirstThenRunsItAgainUnderNewKeys() async throws {
        let harness = Harness()
        let handle = try harness.start(Self.linear)
        try await waitUntilWaiting(handle, "d")
        let plan = try await handle.rollback(RollbackRequest(target: "b"))
        #expect(plan.start == "d" && plan.reverts == ["d", "c", "b"], "\(plan)")
        try await waitForNote(harness, "b", "rolled back to 'b'")
        // The world: b and c undone, newest first; a left alone.
        #expect(harness.cleared == ["c", "b"])
        #expect(harness.world.flags == ["a"])
        #expect(harness.log.runStates.last == .paused)
        try await handle.resume()
        let report = await handle.wait()
        #expect(report.status == .succeeded)
        #expect(harness.world.flags == ["a", "b", "c"])
        #expect(harness.set == ["a", "b", "c", "b", "c"])
        // The second run of b is a new request: a new idempotency key.
        let keys = harness.journal.events.filter { $0.stepID == "b" && $0.kind == .step(.running) }.compactMap(\.idempotencyKey)
        #expect(keys == ["\(report.runID)/b/1", "\(report.runID)/b/2"])
    }

    @Test func anAnyRollbackRevertsNothingAndRunsTheLaterStepsAgain() async throws {
        let harness = Harness()
        let handle = try harness.start(Self.linear)
        try await waitUntilWaiting(handle, "d")
        let plan = try await handle.rollback(RollbackRequest(target: "b", mode: .any))
        // Issue 33: each step once, the target first.
        #expect(plan.reverts.isEmpty && plan.resets == ["b", "c", "d"], "\(plan)")
        try await waitForNote(harness, "b", "rolled back to 'b'")
        #expect(harness.cleared.isEmpty)
        try await handle.resume()
        #expect(await handle.wait().status == .succeeded)
        #expect(harness.set == ["a", "b", "c", "b", "c"])
        // The cleared records stay in the history.
        #expect(harness.log.states(of: "c") == [.running, .succeeded, .pending, .running, .succeeded])
    }

    @Test(arguments: [false, true]) func autoResumeGoesOnWithoutTheOperator(fromTheJob: Bool) async throws {
        let harness = Harness()
        let yaml = fromTheJob ? job(world("a") + world("b") + "  - { id: d, uses: test.fail, with: { attempts: 1 } }\n",
                                    head: Self.pause + "rollback: { auto_resume: true }\n")
            : job(world("a") + world("b") + "  - { id: d, uses: test.fail, with: { attempts: 1 } }\n", head: Self.pause)
        let handle = try harness.start(yaml)
        try await waitUntilWaiting(handle, "d")
        _ = try await handle.rollback(RollbackRequest(target: "a", resume: !fromTheJob))
        #expect(await handle.wait().status == .succeeded)
        #expect(harness.cleared == ["b", "a"])
        #expect(!harness.log.runStates.dropFirst(2).contains(.paused), "\(harness.log.runStates)")
    }

    /// Nested groups and parallel branches: each rule refuses what it
    /// should, names itself, and says what would be allowed.
    @Test func everyRuleRefusesWithItsNameAndAWayOut() async throws {
        let harness = Harness()
        let handle = try harness.start(job("""
            \(world("a"))  - id: g
                group:
                  steps:
            \(world("g1", indent: 8))\(world("g2", indent: 8))  - id: p
                group:
                  mode: parallel
                  steps:
            \(world("p1", indent: 8))\(world("p2", indent: 8))  - id: s
                group:
                  steps:
            \(world("s1", indent: 8))        - { id: s2, uses: test.fail, with: { attempts: 1 } }
            """, head: Self.pause))
        try await waitUntilWaiting(handle, "s2")
        func refusal(_ request: RollbackRequest) async -> RollbackRefusal? {
            do {
                _ = try await handle.rollback(request)
                Issue.record("allowed: \(request)")
                return nil
            } catch { return error }
        }
        let cases: [(RollbackRequest, rule: String, says: String)] = [
            (RollbackRequest(target: "nosuch"), "target-exists", "--targets"),
            (RollbackRequest(target: "g"), "target-step", "one of its steps"),
            (RollbackRequest(target: "s2"), "target-succeeded", "is failed"),
            (RollbackRequest(target: "g1", start: "s2"), "same-scope", "never crosses into or out of a group"),
            (RollbackRequest(target: "a"), "start-finished", "roll back inside group 's' first"),
            (RollbackRequest(target: "p1", start: "p2"), "same-branch", "different branches of a parallel group"),
            // Issue 33: listed the other way round, still apart, not "after".
            (RollbackRequest(target: "p2", start: "p1"), "same-branch", "different branches of a parallel group"),
            (RollbackRequest(target: "p1"), "current-end", "'s' has run since 'p1'"),
            (RollbackRequest(target: "g2", start: "g1"), "start-after-target", "comes before"),
            (RollbackRequest(target: "a", start: "a", mode: .any), "any-no-start", "leave --from out"),
        ]
        for (request, rule, says) in cases {
            let refused = await refusal(request)
            #expect(refused?.rule == rule && refused?.description.contains(says) == true, "\(request): \(String(describing: refused))")
        }
        let targets = await handle.rollbackTargets()
        #expect(targets.filter(\.allowed).map(\.step) == ["s1"], "\(targets)")
        #expect(targets.first { $0.step == "g1" }?.reason?.contains("current-end") == true)
        #expect(await handle.rollbackTargets(mode: .any).filter(\.allowed).map(\.step) == ["a", "g1", "g2", "p1", "p2", "s1"])
        // The one allowed: inside s, from s2 back to s1.
        _ = try await handle.rollback(RollbackRequest(target: "s1", resume: true))
        #expect(await handle.wait().status == .succeeded)
        #expect(harness.cleared == ["s1"])
    }

    /// A revert that fails during a rollback leaves the run revert_failed at
    /// that step; only the operator's retry runs it again, after which the
    /// rollback finishes and the run pauses at its target.
    @Test func aFailedRevertIsRetriedOnlyByTheOperatorAndTheRollbackThenFinishes() async throws {
        let fixable = FixableAtom()
        var harness = Harness()
        harness.extraAtoms = [fixable]
        let yaml = job(world("a") + "  - { id: b, uses: probe.fixable }\n" + "  - { id: d, uses: test.fail, with: { attempts: 1 } }\n",
                       head: Self.pause)
        let handle = try harness.start(yaml)
        try await waitUntilWaiting(handle, "d")
        fixable.broken.withLock { $0 = true }
        _ = try await handle.rollback(RollbackRequest(target: "a"))
        let failed = await handle.wait()
        #expect(failed.status == .revertFailed && failed.step("b")?.status == .revertFailed)
        #expect(harness.world.flags == ["a"] && fixable.present)
        // Resuming does not run it again.
        let loaded = try JobLoader.load(bytes: Array(yaml.utf8), file: "test.yaml")
        #expect(throws: RunSetupError.self) {
            try harness.engine().resume(RunRequest(job: loaded, runID: failed.runID), history: harness.journal.events)
        }
        fixable.broken.withLock { $0 = false }
        let retried = try harness.engine().retryRevert(RunRequest(job: loaded, runID: failed.runID), history: harness.journal.events)
        try await waitForNote(harness, "a", "rolled back to 'a'")
        #expect(!fixable.present && harness.world.flags.isEmpty)
        #expect(fixable.revertKeys == ["\(failed.runID)/b/1/revert/1", "\(failed.runID)/b/1/revert/2"])
        try await retried.resume()
        #expect(await retried.wait().status == .succeeded)
        #expect(harness.world.flags == ["a"] && fixable.present)
    }

    /// The point of the feature: roll back, fix a variable, run again. The
    /// value survives a restart.
    @Test func aVariableSetWhilePausedReachesTheStepsRunAgainAndSurvivesARestart() async throws {
        let harness = Harness()
        let yaml = job(world("a") + "  - { id: b, uses: test.world, with: { flag: \"${{ vars.name }}\" } }\n"
                       + "  - { id: d, uses: test.fail, with: { attempts: 1 } }\n", head: Self.pause + "vars: { name: old }\n")
        let handle = try harness.start(yaml)
        try await waitUntilWaiting(handle, "d")
        await #expect(throws: RunSetupError.self) { try await handle.setVariables(["nosuch": .string("x")]) }
        _ = try await handle.rollback(RollbackRequest(target: "b"))
        try await waitForNote(harness, "b", "rolled back to 'b'")
        try await handle.setVariables(["name": .string("new")])
        #expect(harness.world.flags == ["a"])
        // A restart here: the journal has the value.
        await handle.abort()
        let loaded = try JobLoader.load(bytes: Array(yaml.utf8), file: "test.yaml")
        let resumed = try harness.engine().resume(RunRequest(job: loaded, runID: handle.runID), history: harness.journal.events)
        try await resumed.resume()
        #expect(await resumed.wait().status == .succeeded)
        #expect(harness.world.flags == ["a", "new"], "\(harness.world.flags)")
        await #expect(throws: RunSetupError.self) { try await resumed.setVariables(["name": .string("late")]) }
    }

    /// `--reserve`: armed while its start runs, fired when it succeeds,
    /// not by a failure, and dropped by `--cancel`.
    @Test(arguments: ["succeeds", "fails", "cancelled"]) func aReservedRollback(_ outcome: String) async throws {
        let gate = GateAtom()
        var harness = Harness()
        harness.extraAtoms = [gate]
        let handle = try harness.start(job(world("a") + world("b") + "  - { id: g, uses: probe.gate, with: { fail: \(outcome == "fails") } }\n"
                                           + world("c"), head: Self.pause))
        await gate.waitForStarted(1)
        let reserve = RollbackRequest(target: "b", start: "g")
        for (request, rule) in [(RollbackRequest(target: "b"), "reserve-start"), (RollbackRequest(target: "b", start: "a"), "reserve-running"),
                                (RollbackRequest(target: "c", start: "g"), "target-succeeded")] {
            await #expect { try await handle.reserveRollback(request) } throws: { ($0 as? RollbackRefusal)?.rule == rule }
        }
        try await handle.reserveRollback(reserve)
        await #expect { try await handle.reserveRollback(reserve) } throws: { ($0 as? RollbackRefusal)?.rule == "one-reservation" }
        #expect(await handle.reservedRollback()?.target == "b")
        if outcome == "cancelled" { #expect(try await handle.cancelReservedRollback().target == "b") }
        gate.open()
        switch outcome {
        case "succeeds":
            try await waitForNote(harness, "b", "rolled back to 'b'")
            #expect(harness.cleared == ["b"] && harness.world.flags == ["a"])
            #expect(await handle.reservedRollback() == nil)
            try await handle.resume()
            #expect(await handle.wait().status == .succeeded)
            #expect(harness.set == ["a", "b", "b", "c"])
        case "fails":
            try await waitUntilWaiting(handle, "g")
            #expect(harness.cleared.isEmpty && !harness.log.notes(of: "b").contains { $0.contains("rolled back") })
            #expect(await handle.reservedRollback()?.start == "g", "still armed for a retry")
            await handle.cancel()
            _ = await handle.wait()
        default:
            #expect(await handle.wait().status == .succeeded)
            #expect(harness.cleared.isEmpty && harness.set == ["a", "b", "c"])
        }
    }

    @Test func revertCompensatesAPausedRunAsAWhole() async throws {
        let harness = Harness()
        let handle = try harness.start(Self.linear)
        try await waitUntilWaiting(handle, "d")
        #expect(await handle.revert())
        #expect(await handle.wait().status == .reverted)
        #expect(harness.cleared == ["c", "b", "a"] && harness.world.flags.isEmpty)
    }
}

/// `probe.fixable`: a thing whose revert fails while `broken` (a fault
/// the operator then fixes); its check says whether it is there.
final class FixableAtom: Atom {
    let name = "probe.fixable"
    let capabilities: AtomCapabilities = [.revert, .check]
    let broken = Mutex(false)
    private let state = Mutex((present: false, keys: [String]()))

    var present: Bool { state.withLock { $0.present } }
    var revertKeys: [String] { state.withLock { $0.keys } }

    func execute(_ input: JSONValue, context: AtomContext) async throws -> AtomResult {
        state.withLock { $0.present = true }
        return AtomResult()
    }

    func revert(_ input: JSONValue, outputs: JSONValue?, context: AtomContext) async throws {
        state.withLock { $0.keys.append(context.idempotencyKey) }
        if broken.withLock({ $0 }) { throw AtomError("the revert's peer is down") }
        state.withLock { $0.present = false }
    }

    func check(_ input: JSONValue, outputs: JSONValue?, context: AtomContext) async throws -> CheckResult {
        present ? .present(outputs: nil) : .absent
    }
}

func waitUntilWaiting(_ handle: RunHandle, _ step: String) async throws {
    while await !handle.waitingSteps().contains(step) { try await Task.sleep(for: .milliseconds(1)) }
}

func waitForNote(_ harness: Harness, _ step: String, _ text: String) async throws {
    while !harness.log.notes(of: step).contains(where: { $0.contains(text) }) { try await Task.sleep(for: .milliseconds(1)) }
}

/// A crash at every journal write of a TOKEN rollback, stored or not, then
/// recovery: the rollback completes exactly once, the run pauses at its
/// target, and resuming it ends with every step done once more.
@Suite(.timeLimit(.minutes(2))) struct RollbackCrashTests {
    let yaml = RollbackTests.linear

    func engine(_ journal: any Journal, _ world: TestWorld, _ log: EventLog? = nil) -> Engine {
        Engine(registry: AtomRegistry(TestAtoms.all(world: world)), journal: journal, listeners: log.map { [$0] } ?? [])
    }

    /// Runs to the pause at d and arms the rollback; returns the handle
    /// and the journal writes made before the rollback.
    func rollBack(_ journal: CrashingJournal, _ world: TestWorld) async throws -> (RunHandle, Int) {
        let job = try JobLoader.load(bytes: Array(yaml.utf8), file: "test.yaml")
        let handle = try engine(journal, world).start(RunRequest(job: job, runID: "crash-test"))
        try await waitUntilWaiting(handle, "d")
        let before = journal.writes
        _ = try await handle.rollback(RollbackRequest(target: "b"))
        return (handle, before)
    }

    @Test func aCrashAtEveryWriteOfARollbackEndsWithItDoneOnce() async throws {
        let clean = CrashingJournal(crashAt: nil, after: false, world: TestWorld())
        let (first, start) = try await rollBack(clean, TestWorld())
        while !clean.events.contains(where: { $0.data?["rollback_done"] == .bool(true) }) { try await Task.sleep(for: .milliseconds(1)) }
        let end = clean.writes
        await first.abort()
        #expect(end - start >= 8, "the rollback's writes: \(start + 1)...\(end)")
        let job = try JobLoader.load(bytes: Array(yaml.utf8), file: "test.yaml")
        for point in (start + 1)...end {
            for after in [false, true] {
                let world = TestWorld()
                let journal = CrashingJournal(crashAt: point, after: after, world: world)
                let (cut, _) = try await rollBack(journal, world)
                _ = await cut.wait()
                world.thaw()
                let history = journal.events
                let log = EventLog()
                let resumed = try engine(CrashingJournal(history: history, crashAt: nil, after: false, world: world), world, log)
                    .resume(RunRequest(job: job, runID: "crash-test"), history: history)
                let done = { (events: [EngineEvent]) in events.contains { $0.data?["rollback_done"] == .bool(true) } }
                if !history.contains(where: { ($0.data?["rollback"] ?? .null) != .null || ($0.data?["rollback_asked"] ?? .null) != .null }) {
                    // Cut before the rollback was accepted: it never was; the operator asks again.
                    try await waitUntilWaiting(resumed, "d")
                    _ = try await resumed.rollback(RollbackRequest(target: "b"))
                }
                let context = "crash at write \(point)\(after ? " (stored)" : "")"
                let deadline = ContinuousClock.now + .seconds(10)
                while !done(history), !done(log.events) {
                    guard ContinuousClock.now < deadline else {
                        Issue.record("\(context): the rollback was never finished: \(log.events.compactMap(\.detail))")
                        return
                    }
                    try await Task.sleep(for: .milliseconds(1))
                }
                #expect(world.flags == ["a"], "\(context): \(world.flags)")
                try await resumed.resume()
                let report = await resumed.wait()
                #expect(report.status == .succeeded, "\(context)")
                #expect(world.flags == ["a", "b", "c"], "\(context)")
                let sets = world.log.compactMap { if case .set(let flag, _) = $0 { flag } else { nil } }
                #expect(sets == ["a", "b", "c", "b", "c"], "\(context): \(sets)")
                let all = history + log.events
                #expect(all.filter { $0.data?["rollback_done"] == .bool(true) }.count == 1, "\(context)")
            }
        }
    }
}
