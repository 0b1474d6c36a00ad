import AtomdSpec
import Foundation

/// What the engine knows about one step of a run.
public struct StepRecord: Sendable, Hashable, Codable {
    /// What the step did to the world, as far as the engine can tell.
    public enum Effect: String, Sendable, Hashable, Codable {
        /// Nothing yet, or nothing to undo (a check said absent).
        case none
        /// Execute succeeded: the change is there.
        case made
        /// Execute failed, and the check said present, could not tell, or
        /// there is no check: revert it (reverts tolerate "never happened").
        case possible
        /// `converge: true` found it already present: never revert it.
        case preexisting
        /// Reverted.
        case undone
    }

    public var id: String
    public var path: String
    public var status: StepStatus = .pending
    /// Attempts started, over the whole run.
    public var attempts = 0
    /// The attempt number in the idempotency key of the latest attempt.
    public var keyAttempt = 0
    public var effect: Effect = .none
    /// The resolved input of the latest attempt (not redacted: revert needs it).
    public var input: JSONValue?
    public var outputs: JSONValue?
    public var error: String?
    public var startedAt: Date?
    public var finishedAt: Date?
    /// The order in which steps finished executing, from 1.
    public var completion: Int?
    /// How compensation treated the step, for the summary.
    public var compensation: String?
    /// Why a failed step has nothing to undo ("check: absent"), for the
    /// summary. Not journaled: after a restart the summary gives no reason.
    public var nothingToUndo: String?

    init(id: String, path: String) {
        self.id = id
        self.path = path
    }
}
