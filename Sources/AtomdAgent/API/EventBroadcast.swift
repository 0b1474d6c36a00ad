import AtomdEngine
import Foundation
import Synchronization

/// Hands every event of the agent's runs to the event streams open on the
/// control API. A slow reader loses the oldest buffered events rather than
/// holding up a run.
final class EventBroadcast: EventListener, Sendable {
    private let subscribers = Mutex<[UUID: (runID: String?, continuation: AsyncStream<EngineEvent>.Continuation)]>([:])

    /// Events of `runID` (nil: of every run) from now on, until the stream is dropped.
    func subscribe(runID: String?) -> AsyncStream<EngineEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: EngineEvent.self, bufferingPolicy: .bufferingNewest(4096))
        let id = UUID()
        subscribers.withLock { $0[id] = (runID, continuation) }
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.removeValue(forKey: id) }
        }
        return stream
    }

    /// Ends every stream: the agent is stopping.
    func finishAll() {
        let all = subscribers.withLock { $0.values.map(\.continuation) }
        for continuation in all { continuation.finish() }
    }

    func receive(_ event: EngineEvent) {
        let targets = subscribers.withLock { subscribers in
            subscribers.values.filter { $0.runID == nil || $0.runID == event.runID }.map(\.continuation)
        }
        for continuation in targets { continuation.yield(event) }
    }
}
