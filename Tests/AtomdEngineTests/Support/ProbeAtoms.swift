import AtomdEngine
import AtomdSpec
import Synchronization

/// `probe.gate`: counts how many calls run at once and waits until the test
/// opens the gate, so concurrency is observed, not timed.
final class GateAtom: Atom {
    let name = "probe.gate"
    private let state = Mutex((running: 0, peak: 0, started: 0))
    private let opened = Mutex<[CheckedContinuation<Void, Never>]?>([])

    var peak: Int { state.withLock { $0.peak } }
    var started: Int { state.withLock { $0.started } }

    func execute(_ input: JSONValue, context: AtomContext) async throws -> AtomResult {
        state.withLock {
            $0.running += 1
            $0.started += 1
            $0.peak = max($0.peak, $0.running)
        }
        await withCheckedContinuation { continuation in
            let waitNow = opened.withLock { waiters -> Bool in
                guard waiters != nil else { return false }
                waiters?.append(continuation)
                return true
            }
            if !waitNow { continuation.resume() }
        }
        state.withLock { $0.running -= 1 }
        if input["fail"] == .bool(true) { throw AtomError("failing after the gate, as asked") }
        return AtomResult()
    }

    /// Waits until `count` calls have started, polling with short sleeps: a
    /// spin on Task.yield() held a cooperative thread the calls needed.
    func waitForStarted(_ count: Int) async {
        while started < count { try? await Task.sleep(for: .milliseconds(2)) }
    }

    func open() {
        let waiters = opened.withLock { waiters -> [CheckedContinuation<Void, Never>] in
            let current = waiters ?? []
            waiters = nil
            return current
        }
        for waiter in waiters { waiter.resume() }
    }
}
