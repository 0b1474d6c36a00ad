import Foundation

/// Runs blocking work (a plugin call, a pipe wait, a process start) on a
/// thread of its own, so that the cooperative pool never waits on it.
enum OwnThread {
    static func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: body()) }
        }
    }
}
