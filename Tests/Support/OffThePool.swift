import Foundation

/// Runs `body` on a thread of its own and awaits it. Tests share one
/// process and its few cooperative threads (two on a 2-CPU machine): a test
/// that waits for a compiler or an `atomd` process on one of them starves
/// every other test's engine, and timing-sensitive tests then fail.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

extension Process {
    /// Waits for the process to exit without holding a cooperative thread.
    public func exited() async {
        // A Process is not Sendable; it is only waited for here, which
        // Foundation allows from any thread.
        nonisolated(unsafe) let process = self
        _ = try? await offThePool { process.waitUntilExit() }
    }
}
