import AtomdSpec
import Foundation
import Synchronization

/// Numbers events and hands them to listeners from any task: transitions come
/// from the run actor, log lines from atoms, synchronously.
final class EventHub: Sendable {
    private let counter: Mutex<Int>
    /// Serializes delivery so every listener sees one order.
    private let delivery = Mutex(())
    private let listeners: [any EventListener]
    let runID: String

    /// `sequence`: the last number already used (a resumed run goes on from
    /// its journal's last event).
    init(runID: String, listeners: [any EventListener], sequence: Int = 0) {
        self.runID = runID
        counter = Mutex(sequence)
        self.listeners = listeners
    }

    /// A new event with the next sequence number.
    func make(_ kind: EngineEvent.Kind, step: StepRecord? = nil, attempt: Int? = nil, detail: String? = nil,
              data: JSONValue? = nil, key: String? = nil, effect: StepRecord.Effect? = nil,
              context: JSONValue? = nil) -> EngineEvent {
        let sequence = counter.withLock { value in
            value += 1
            return value
        }
        return EngineEvent(sequence: sequence, runID: runID, stepPath: step?.path, stepID: step?.id, attempt: attempt,
                           kind: kind, time: Date(), detail: detail, data: data, idempotencyKey: key, effect: effect,
                           context: context)
    }

    func deliver(_ event: EngineEvent) {
        delivery.withLock { _ in
            for listener in listeners { listener.receive(event) }
        }
    }
}
