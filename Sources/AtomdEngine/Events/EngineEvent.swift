import AtomdSpec
import Foundation

/// One transition or notable moment of a run. Every listener (journal,
/// terminal, metrics, API stream) sees the same events in the same order.
public struct EngineEvent: Sendable, Hashable, Codable {
    public enum Kind: Sendable, Hashable, Codable {
        case run(RunStatus)
        case step(StepStatus)
        /// A line an atom logged.
        case log(String)
        /// Progress an atom reported, from 0 to 1, with an optional note.
        case progress(Double, String?)
        /// Something an operator should know that is not a state change:
        /// "retrying in 2s", "irreversible: left in place", "check: absent".
        case note(String)
        /// The run is over: its outcome is final and its `finally` steps have
        /// run. A journaled run without this event is resumed on recovery.
        case closed
    }

    /// Position in the run's event stream, from 1.
    public var sequence: Int
    public var runID: String
    /// Nil for run-level events.
    public var stepPath: String?
    public var stepID: String?
    public var attempt: Int?
    public var kind: Kind
    public var time: Date
    /// The error, the reason, or other free text; secrets are redacted.
    public var detail: String?
    /// The resolved input of a step that starts (secrets redacted), its
    /// outputs when it ends.
    public var data: JSONValue?
    /// The idempotency key of the attempt that starts.
    public var idempotencyKey: String?
    /// On step events: what the step has done to the world so far, so that a
    /// run rebuilt from its events knows what compensation must undo.
    public var effect: StepRecord.Effect?
    /// On a step's start: the attempt's context, everything its revert, its
    /// check and recovery must see again (`{"retry": {item, attempt},
    /// "groups": {GROUP: {item, attempt}}, "before": "present"}`).
    public var context: JSONValue?

    public init(sequence: Int, runID: String, stepPath: String? = nil, stepID: String? = nil, attempt: Int? = nil,
                kind: Kind, time: Date, detail: String? = nil, data: JSONValue? = nil, idempotencyKey: String? = nil,
                effect: StepRecord.Effect? = nil, context: JSONValue? = nil) {
        self.sequence = sequence
        self.runID = runID
        self.stepPath = stepPath
        self.stepID = stepID
        self.attempt = attempt
        self.kind = kind
        self.time = time
        self.detail = detail
        self.data = data
        self.idempotencyKey = idempotencyKey
        self.effect = effect
        self.context = context
    }
}

/// Receives events synchronously, in order. Must return quickly: it runs on
/// the engine's path.
public protocol EventListener: Sendable {
    func receive(_ event: EngineEvent)
}

/// A listener made from a closure.
public struct EventCallback: EventListener {
    let body: @Sendable (EngineEvent) -> Void

    public init(_ body: @escaping @Sendable (EngineEvent) -> Void) {
        self.body = body
    }

    public func receive(_ event: EngineEvent) { body(event) }
}
