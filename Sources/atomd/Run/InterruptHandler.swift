import AtomdAgent
import Foundation

/// First SIGINT calls `first`, the next one `second`. Installed before the
/// run starts: a Ctrl-C at any moment after that reaches the run, never the
/// default action.
final class InterruptHandler {
    private let inbox: SignalInbox?

    init(first: @escaping @Sendable () -> Void, second: @escaping @Sendable () -> Void) {
        inbox = try? SignalInbox([SIGINT])
        guard let signals = inbox?.signals else { return }
        Task {
            var count = 0
            for await _ in signals {
                count += 1
                if count == 1 { first() } else { second() }
            }
        }
    }

    func stop() {
        inbox?.stop()
    }
}
