import Synchronization

/// Durable storage of a run's transitions. The engine awaits `record` before
/// it goes on (write-ahead): a step's start is recorded before its action
/// runs, its outcome before the next step is scheduled.
public protocol Journal: Sendable {
    /// Throws when the transition could not be stored; the engine then stops
    /// the run rather than act without a record.
    func record(_ event: EngineEvent) async throws
}

/// A journal in memory, for tests and for runs that need no durability.
public final class InMemoryJournal: Journal {
    private let storage = Mutex<[EngineEvent]>([])

    public init() {}

    public func record(_ event: EngineEvent) async throws {
        storage.withLock { $0.append(event) }
    }

    public var events: [EngineEvent] {
        storage.withLock { $0 }
    }
}
