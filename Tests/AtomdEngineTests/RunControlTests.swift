import AtomdEngine
import AtomdSpec
import Synchronization
import Testing

/// Keys per request, locks that are free while a step waits, cancels that
/// are never lost, and stops that record nothing false.
@Suite(.timeLimit(.minutes(1))) struct RunControlTests {
    @Test func eachRequestHasItsOwnKeyAndChecksHaveNone() async throws {
        let keys = KeyRecordingAtom()
        var harness = Harness()
        harness.extraAtoms = [keys]
        let report = try await harness.run(job("""
              - id: a
                uses: probe.keys
              - id: b
                uses: test.fail
                with: { always: true }
            """))
        #expect(report.status == .reverted)
        let run = report.runID
        #expect(keys.calls == [
            .init(kind: "check", key: "", attemptKey: "\(run)/a/1"),
            .init(kind: "execute", key: "\(run)/a/1", attemptKey: "\(run)/a/1"),
            .init(kind: "revert", key: "\(run)/a/1/revert/1", attemptKey: "\(run)/a/1"),
            .init(kind: "check", key: "", attemptKey: "\(run)/a/1"),
        ])
        // The revert's key is journaled with its start.
        #expect(harness.journal.events.contains { $0.kind == .step(.reverting) && $0.idempotencyKey == "\(run)/a/1/revert/1" })
    }

    @Test func aLockIsFreeWhileItsStepWaitsForTheOperator() async throws {
        let harness = Harness()
        let engine = harness.engine()
        let waiting = try JobLoader.load(bytes: Array(job("  - { id: a, uses: test.fail, with: { always: true }, lock: db }\n",
                                                          head: "on_failure: pause\n").utf8), file: "t.yaml")
        let first = try engine.start(RunRequest(job: waiting))
        while await !first.waitingSteps().contains("a") { try? await Task.sleep(for: .milliseconds(2)) }
        let other = try JobLoader.load(bytes: Array(job("  - { id: b, uses: test.noop, lock: db }\n").utf8), file: "u.yaml")
        #expect(try await engine.start(RunRequest(job: other)).wait().status == .succeeded)
        await first.decide("a", .cancel)
        #expect(await first.wait().status == .cancelled)
    }

    @Test func aLockIsFreeWhileItsStepWaitsToRetry() async throws {
        let harness = Harness()
        let engine = harness.engine()
        let retrying = try JobLoader.load(bytes: Array(job("""
              - id: a
                uses: test.fail
                with: { attempts: 1 }
                retry: { attempts: 2, delay: 1h }
                lock: db
            """).utf8), file: "t.yaml")
        let first = try engine.start(RunRequest(job: retrying))
        while !harness.log.notes(of: "a").contains(where: { $0.contains("retrying in 1h") }) { try? await Task.sleep(for: .milliseconds(2)) }
        let other = try JobLoader.load(bytes: Array(job("  - { id: b, uses: test.noop, lock: db }\n").utf8), file: "u.yaml")
        #expect(try await engine.start(RunRequest(job: other)).wait().status == .succeeded)
        await first.cancel()
        #expect(await first.wait().status == .cancelled)
    }

    /// The cancel arrives while the pause at the failed step is being
    /// journaled: before, it found no waiter and the run hung.
    @Test func aCancelDuringThePauseIsNotLost() async throws {
        let journal = GatedJournal { $0.kind == .run(.paused) }
        let engine = Engine(registry: AtomRegistry(TestAtoms.all()), journal: journal)
        let job = try JobLoader.load(bytes: Array(job("  - { id: a, uses: test.fail, with: { always: true } }\n",
                                                      head: "on_failure: pause\n").utf8), file: "t.yaml")
        let handle = try engine.start(RunRequest(job: job))
        await journal.waitUntilHeld()
        let cancelled = Task { await handle.cancel() }
        await cancelled.value
        journal.open()
        #expect(await handle.wait().status == .cancelled)
    }

    /// Abort compensates nothing and journals nothing more: the next start
    /// resumes the run from what was recorded.
    @Test func abortRecordsNothingFalse() async throws {
        let harness = Harness()
        let handle = try harness.start(job(world("a") + "  - { id: wait, uses: test.sleep, with: { for: 1h } }\n"))
        while harness.log.states(of: "wait").isEmpty { try? await Task.sleep(for: .milliseconds(2)) }
        let recorded = harness.journal.events.count
        await handle.abort()
        let report = await handle.wait()
        #expect(report.status == .running)
        #expect(harness.journal.events.count == recorded)
        #expect(harness.world.flags == ["a"])
    }

    /// An agent stop: the running step finishes and is journaled, no step
    /// starts after it, and no pause is recorded.
    @Test func holdStopsAtTheNextStepBoundary() async throws {
        let gate = GateAtom()
        var harness = Harness()
        harness.extraAtoms = [gate]
        let handle = try harness.start(job("  - id: a\n    uses: probe.gate\n" + world("b")))
        await gate.waitForStarted(1)
        await handle.hold()
        #expect(await !handle.isIdle())
        gate.open()
        while await !handle.isIdle() { try? await Task.sleep(for: .milliseconds(2)) }
        for _ in 0..<1000 { await Task.yield() }
        #expect(harness.log.states(of: "a") == [.running, .succeeded])
        #expect(harness.log.states(of: "b").isEmpty)
        #expect(harness.log.runStates == [.running])
        let recorded = harness.journal.events.count
        await handle.abort()
        #expect(await handle.wait().status == .running)
        #expect(harness.journal.events.count == recorded)
        #expect(harness.log.states(of: "b").isEmpty)
    }
}

/// `probe.keys`: records the key of every call, by kind.
final class KeyRecordingAtom: Atom {
    struct Call: Hashable, CustomStringConvertible {
        var kind: String
        var key: String
        var attemptKey: String
        var description: String { "\(kind) \(key.isEmpty ? "(no key)" : key) of \(attemptKey)" }
    }

    let name = "probe.keys"
    let capabilities: AtomCapabilities = [.revert, .check]
    private let recorded = Mutex<[Call]>([])
    private let present = Mutex(false)

    var calls: [Call] { recorded.withLock { $0 } }

    private func record(_ kind: String, _ context: AtomContext) {
        recorded.withLock { $0.append(Call(kind: kind, key: context.idempotencyKey, attemptKey: context.attemptKey)) }
    }

    func execute(_ input: JSONValue, context: AtomContext) async throws -> AtomResult {
        record("execute", context)
        present.withLock { $0 = true }
        return AtomResult()
    }

    func revert(_ input: JSONValue, outputs: JSONValue?, context: AtomContext) async throws {
        record("revert", context)
        present.withLock { $0 = false }
    }

    func check(_ input: JSONValue, outputs: JSONValue?, context: AtomContext) async throws -> CheckResult {
        record("check", context)
        return present.withLock { $0 } ? .present(outputs: nil) : .absent
    }
}

/// A journal that holds the first event matching `gate` until `open()`.
final class GatedJournal: Journal {
    private let gate: @Sendable (EngineEvent) -> Bool
    private let state = Mutex<(held: Bool, opened: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, false, nil))

    init(gate: @escaping @Sendable (EngineEvent) -> Bool) {
        self.gate = gate
    }

    func record(_ events: [EngineEvent]) async throws {
        guard events.contains(where: gate) else { return }
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                state.held = true
                if state.opened { return true }
                state.waiter = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    func waitUntilHeld() async {
        while !state.withLock({ $0.held }) { try? await Task.sleep(for: .milliseconds(2)) }
    }

    func open() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.opened = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}

extension RunControlTests {
    /// A stop that comes while a step's attempt fails: its retry does not
    /// start, and the step, journaled with the failed attempt, keeps the
    /// run from being idle no longer than that.
    @Test func aHeldRunDoesNotStartARetryAndIsIdleBeforeIt() async throws {
        let gate = GateAtom()
        var harness = Harness()
        harness.extraAtoms = [gate]
        let handle = try harness.start(job("  - id: a\n    uses: probe.gate\n    with: { fail: true }\n    retry: { attempts: 2, delay: 1ms }\n"))
        await gate.waitForStarted(1)
        await handle.hold()
        gate.open()
        let deadline = ContinuousClock.now + .seconds(20)
        while await !handle.isIdle() {
            try #require(ContinuousClock.now < deadline, "a run held before a retry never became idle")
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(gate.started == 1, "the retry started after the hold")
        #expect(harness.log.states(of: "a") == [.running])
        await handle.abort()
        _ = await handle.wait()
        #expect(gate.started == 1)
    }
}
