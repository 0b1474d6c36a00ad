/// Named mutexes across runs (`lock:`). The agent implements it across all its
/// runs and, later, durably; `InProcessLocks` serves one process.
public protocol LockProvider: Sendable {
    /// Waits until `name` is free, then holds it for `owner`. Cancellable.
    func acquire(_ name: String, owner: String) async throws
    func release(_ name: String, owner: String) async
}

/// First-come, first-served locks within one process.
public actor InProcessLocks: LockProvider {
    private var holders: [String: String] = [:]
    private var waiters: [String: [(owner: String, continuation: CheckedContinuation<Void, any Error>)]] = [:]

    public init() {}

    public func acquire(_ name: String, owner: String) async throws {
        if holders[name] == nil {
            holders[name] = owner
            return
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                waiters[name, default: []].append((owner, continuation))
            }
        } onCancel: {
            Task { await self.cancelWaiter(name, owner: owner) }
        }
    }

    public func release(_ name: String, owner: String) {
        guard holders[name] == owner else { return }
        if var queue = waiters[name], !queue.isEmpty {
            let next = queue.removeFirst()
            waiters[name] = queue
            holders[name] = next.owner
            next.continuation.resume()
        } else {
            holders[name] = nil
        }
    }

    /// Who holds each lock now, for status output.
    public var held: [String: String] { holders }

    private func cancelWaiter(_ name: String, owner: String) {
        guard var queue = waiters[name], let index = queue.firstIndex(where: { $0.owner == owner }) else { return }
        let waiter = queue.remove(at: index)
        waiters[name] = queue
        waiter.continuation.resume(throwing: CancellationError())
    }
}
