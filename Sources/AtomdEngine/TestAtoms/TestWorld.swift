import Synchronization

/// The shared, in-memory "world" that the `test.world` atom changes: named
/// flags, and a log of every operation, so tests can assert what a run left
/// behind and in which order it undid things.
public final class TestWorld: Sendable {
    public enum Operation: Sendable, Hashable {
        case set(flag: String, step: String)
        case clear(flag: String, step: String)
    }

    private struct Contents {
        var flags: Set<String> = []
        var log: [Operation] = []
    }

    private let contents = Mutex(Contents())

    public init() {}

    public func set(_ flag: String, by step: String) {
        contents.withLock {
            $0.flags.insert(flag)
            $0.log.append(.set(flag: flag, step: step))
        }
    }

    public func clear(_ flag: String, by step: String) {
        contents.withLock {
            $0.flags.remove(flag)
            $0.log.append(.clear(flag: flag, step: step))
        }
    }

    /// Sets a flag without logging it: a precondition a test arranges.
    public func preset(_ flag: String) {
        contents.withLock { _ = $0.flags.insert(flag) }
    }

    public func isSet(_ flag: String) -> Bool {
        contents.withLock { $0.flags.contains(flag) }
    }

    public var flags: Set<String> { contents.withLock { $0.flags } }

    public var log: [Operation] { contents.withLock { $0.log } }
}
