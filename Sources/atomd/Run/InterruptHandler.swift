import Dispatch
import Synchronization
import Foundation

/// First SIGINT calls `first`, the next one `second`. Signals are taken from
/// a dispatch source, not a C handler, so the callbacks may do real work.
final class InterruptHandler {
    private let source: any DispatchSourceSignal

    init(first: @escaping @Sendable () -> Void, second: @escaping @Sendable () -> Void) {
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        let count = Counter()
        source.setEventHandler {
            if count.increment() == 1 { first() } else { second() }
        }
        source.resume()
        self.source = source
    }

    func stop() {
        source.cancel()
        signal(SIGINT, SIG_DFL)
    }

    private final class Counter: Sendable {
        private let value = Synchronization.Mutex(0)

        func increment() -> Int {
            value.withLock { count in
                count += 1
                return count
            }
        }
    }
}
