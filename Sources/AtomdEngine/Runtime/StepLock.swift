import Synchronization

/// A step's `lock:`, taken before the step touches the world and given back
/// whenever it waits (a retry's delay, an operator's decision), so that a
/// waiting step never blocks other runs.
final class StepLock: Sendable {
    let name: String
    let owner: String
    private let locks: any LockProvider
    private let held = Mutex(false)

    init(name: String, owner: String, locks: any LockProvider) {
        self.name = name
        self.owner = owner
        self.locks = locks
    }

    /// True once held (now or already); false when the wait was cancelled.
    func acquire() async -> Bool {
        if held.withLock({ $0 }) { return true }
        do {
            try await locks.acquire(name, owner: owner)
        } catch {
            return false
        }
        held.withLock { $0 = true }
        return true
    }

    func release() async {
        let wasHeld = held.withLock { held in
            defer { held = false }
            return held
        }
        if wasHeld { await locks.release(name, owner: owner) }
    }
}
