import AtomdJournal
import Synchronization

/// The database did not answer in time.
struct DeadlinePassed: Error, CustomStringConvertible {
    var limit: Duration
    var description: String { "no answer within \(limit.components.seconds) s" }
}

enum Deadline {
    /// `body`'s result, or `DeadlinePassed` once `limit` has passed. A query
    /// on a connection the network cut may not return for minutes and does
    /// not end when cancelled, so it is not awaited past the limit: it is
    /// cancelled and left to fail on its own. Whatever it may still commit
    /// is what a commit whose answer was lost would have committed, and
    /// every write is made to be repeated safely.
    static func within<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let race = Race<T>()
        return try await withCheckedThrowingContinuation { continuation in
            race.waiting.withLock { $0 = continuation }
            let timer = Task {
                try? await Task.sleep(for: limit)
                guard !Task.isCancelled, let continuation = race.waiting.withLock({ $0.take() }) else { return }
                race.work.withLock { $0?.cancel() }
                continuation.resume(throwing: DeadlinePassed(limit: limit))
            }
            let task = Task {
                let result: Result<T, any Error>
                do { result = .success(try await body()) } catch { result = .failure(error) }
                timer.cancel()
                race.waiting.withLock { $0.take() }?.resume(with: result)
            }
            race.work.withLock { $0 = task }
        }
    }
}

/// Who answers first: the work or the timer; the other finds nothing to resume.
private final class Race<T: Sendable>: Sendable {
    let waiting = Mutex<CheckedContinuation<T, any Error>?>(nil)
    let work = Mutex<Task<Void, Never>?>(nil)
}
