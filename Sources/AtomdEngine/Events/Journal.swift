import Synchronization

/// Durable storage of a run's transitions. The engine awaits `record` before
/// it goes on (write-ahead): a step's start is recorded before its action
/// runs. A step's outcome may wait for the run's next record and share its
/// transaction (one commit per step on a linear path), but never past an
/// action, a probe or a wait: whatever the engine does next on the outcome's
/// strength is recorded with it, or after it.
public protocol Journal: Sendable {
    /// Stores `events`, in order, in one transaction: all of them or none.
    /// Throws when they could not be stored; the engine then stops the run
    /// rather than act without a record.
    func record(_ events: [EngineEvent]) async throws
}

/// A journal in memory, for tests and for runs that need no durability.
public final class InMemoryJournal: Journal {
    private let storage = Mutex<[EngineEvent]>([])

    public init() {}

    public func record(_ events: [EngineEvent]) async throws {
        storage.withLock { $0.append(contentsOf: events) }
    }

    public var events: [EngineEvent] {
        storage.withLock { $0 }
    }
}
