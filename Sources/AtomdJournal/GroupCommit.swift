import Dispatch
import Synchronization

/// Commits writes from many runs together: while one transaction is being
/// made durable, the writes that arrive wait and then share the next one, so
/// concurrent runs pay one fsync per batch instead of one each. Commits run
/// on a thread of their own, never on Swift's cooperative pool.
final class GroupCommit<Item: Sendable>: Sendable {
    private struct Waiting {
        var items: [(Item, CheckedContinuation<Void, any Error>)] = []
        var draining = false
    }

    private let waiting = Mutex(Waiting())
    private let transactions = Atomic(0)
    private let thread = DispatchQueue(label: "atomd.journal.commit")
    private let maxBatch: Int
    private let commit: @Sendable ([Item]) throws -> Void

    /// `commit` writes a batch in one transaction; it throws to fail them all.
    init(maxBatch: Int, commit: @escaping @Sendable ([Item]) throws -> Void) {
        self.maxBatch = max(1, maxBatch)
        self.commit = commit
    }

    /// Transactions made so far: fewer than items when runs shared commits.
    var transactionCount: Int { transactions.load(ordering: .relaxed) }

    /// Returns once `item` is durable.
    func submit(_ item: Item) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let startDraining = waiting.withLock { waiting -> Bool in
                waiting.items.append((item, continuation))
                guard !waiting.draining else { return false }
                waiting.draining = true
                return true
            }
            if startDraining { thread.async { self.drain() } }
        }
    }

    private func drain() {
        while true {
            let batch = waiting.withLock { waiting -> [(Item, CheckedContinuation<Void, any Error>)] in
                let batch = Array(waiting.items.prefix(maxBatch))
                waiting.items.removeFirst(batch.count)
                if batch.isEmpty { waiting.draining = false }
                return batch
            }
            guard !batch.isEmpty else { return }
            do {
                transactions.add(1, ordering: .relaxed)
                try commit(batch.map(\.0))
                for (_, continuation) in batch { continuation.resume() }
            } catch {
                for (_, continuation) in batch { continuation.resume(throwing: error) }
            }
        }
    }
}
