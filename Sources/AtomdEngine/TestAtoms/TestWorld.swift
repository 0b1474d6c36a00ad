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
        var frozen = false
    }

    private let contents = Mutex(Contents())

    public init() {}

    public func set(_ flag: String, by step: String) {
        contents.withLock {
            guard !$0.frozen else { return }
            $0.flags.insert(flag)
            $0.log.append(.set(flag: flag, step: step))
        }
    }

    public func clear(_ flag: String, by step: String) {
        contents.withLock {
            guard !$0.frozen else { return }
            $0.flags.remove(flag)
            $0.log.append(.clear(flag: flag, step: step))
        }
    }

    /// A simulated crash: the agent is dead, so nothing it still runs changes
    /// the world until `thaw`.
    public func freeze() {
        contents.withLock { $0.frozen = true }
    }

    public func thaw() {
        contents.withLock { $0.frozen = false }
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
