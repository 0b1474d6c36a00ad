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
