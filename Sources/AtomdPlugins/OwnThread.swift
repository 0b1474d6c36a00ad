import Foundation

/// Runs blocking work (a plugin call, a pipe wait, a process start) on a
/// thread of its own, so that the cooperative pool never waits on it.
///
/// Every piece of work gets a thread at once, never a place in a queue: a
/// plugin call that hangs must not hold up another. Threads that finish are
/// kept idle for a while and reused, because starting a thread costs more
/// than a whole in-process plugin call.
public enum OwnThread {
    public static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            start { continuation.resume(returning: body()) }
        }
    }

    /// Starts `body` on a thread of its own without waiting for it.
    public static func start(_ body: @escaping @Sendable () -> Void) {
        ThreadReuse.shared.start(body)
    }
}

/// The idle threads `OwnThread` hands work to.
private final class ThreadReuse: @unchecked Sendable {
    // Sendable because `idle` is only touched with `lock` held, and each
    // worker's slot only with that worker's condition held.
    static let shared = ThreadReuse()

    /// How long a thread waits for more work before it ends.
    private let keepAlive: TimeInterval = 30
    private let lock = NSLock()
    private var idle: [Worker] = []

    private final class Worker: @unchecked Sendable {
        // Sendable: `work` is read and written only with `condition` held.
        let condition = NSCondition()
        var work: (@Sendable () -> Void)?
    }

    func start(_ body: @escaping @Sendable () -> Void) {
        lock.lock()
        let worker = idle.popLast()
        lock.unlock()
        guard let worker else {
            Thread.detachNewThread { [self] in serve(Worker(), first: body) }
            return
        }
        worker.condition.withLock {
            worker.work = body
            worker.condition.signal()
        }
    }

    private func serve(_ worker: Worker, first: @escaping @Sendable () -> Void) {
        var next: (@Sendable () -> Void)? = first
        while let work = next {
            work()
            lock.withLock { idle.append(worker) }
            next = waitForWork(worker)
        }
    }

    /// The next piece of work, or nil when none came in time and the worker
    /// could leave the idle list (a worker already taken gets its work).
    private func waitForWork(_ worker: Worker) -> (@Sendable () -> Void)? {
        let deadline = Date.now.addingTimeInterval(keepAlive)
        worker.condition.lock()
        defer { worker.condition.unlock() }
        var taken = false
        while worker.work == nil {
            if taken {
                worker.condition.wait()
            } else if !worker.condition.wait(until: deadline), worker.work == nil {
                let left = lock.withLock { () -> Bool in
                    guard let index = idle.firstIndex(where: { $0 === worker }) else { return false }
                    idle.remove(at: index)
                    return true
                }
                if left { return nil }
                taken = true
            }
        }
        defer { worker.work = nil }
        return worker.work
    }
}
