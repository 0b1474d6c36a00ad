import AtomdEngine
import Logging

/// The agent's `lock:` names: first come, first served across all its
/// runs (InProcessLocks), and visible while a step waits: logged once, and
/// listed by the control API with who holds the lock.
actor VisibleLocks: LockProvider {
    private let inner = InProcessLocks()
    private let log: Logger
    /// Owner ("RUN/STEP") -> the lock it waits for and who held it then.
    private(set) var waiting: [String: (lock: String, holder: String)] = [:]

    init(log: Logger) {
        self.log = log
    }

    func acquire(_ name: String, owner: String) async throws {
        if let holder = await inner.held[name], holder != owner {
            waiting[owner] = (name, holder)
            log.info("\(owner) waits for lock '\(name)', held by \(holder)")
        }
        defer { waiting[owner] = nil }
        try await inner.acquire(name, owner: owner)
    }

    func release(_ name: String, owner: String) async {
        await inner.release(name, owner: owner)
    }

    /// What the steps of `runID` wait for, as "STEP waits for lock L (held by RUN/STEP)".
    func waits(of runID: String) -> [String] {
        waiting.filter { $0.key.hasPrefix(runID + "/") }.sorted { $0.key < $1.key }.map {
            "\($0.key.dropFirst(runID.count + 1)) waits for lock '\($0.value.lock)' (held by \($0.value.holder))"
        }
    }
}
