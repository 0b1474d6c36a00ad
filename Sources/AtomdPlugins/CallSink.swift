import Synchronization

/// Where one call's log lines and progress go, and whether it should stop.
/// The C host functions reach it through `atomd_call.host_private`.
public final class CallSink: Sendable {
    let log: @Sendable (String) -> Void
    let progress: @Sendable (Double, String?) -> Void
    private let cancelled = Atomic<Bool>(false)

    public init(log: @escaping @Sendable (String) -> Void = { _ in },
                progress: @escaping @Sendable (Double, String?) -> Void = { _, _ in }) {
        self.log = log
        self.progress = progress
    }

    /// From now on `host->cancelled(call)` answers non-zero.
    public func cancel() { cancelled.store(true, ordering: .relaxed) }

    public var isCancelled: Bool { cancelled.load(ordering: .relaxed) }
}
