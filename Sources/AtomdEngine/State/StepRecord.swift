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
        /// It was there before the step ran (`converge: true` skipped the
        /// step, or the before probe said present): left as found, never
        /// reverted.
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
    /// The retry items of the enclosing groups that the latest attempt saw
    /// (`{"retry": …, "groups": …}`): its revert and check see them again.
    public var retryContext: JSONValue?
    /// What the check answered before the step first ran (DESIGN.md
    /// section 3, role 0); nil when it was not asked.
    public var before: BeforeProbe?
    /// Revert attempts started in the current compensation of the step:
    /// each has an idempotency key of its own.
    public var revertAttempt = 0
    /// What the `state:` probe (or a plugin atom) reported before the step
    /// first ran, and after its latest attempt: revert and check read them.
    public var stateBefore: JSONValue?
    public var stateAfter: JSONValue?
    /// The key attempt of an attempt whose outcome is unknown (its answer
    /// was lost, it timed out, a crash cut it): every later attempt of the
    /// step, an operator's retry and a resumed run's too, goes out under
    /// this key after asking the check, and a later refusal proves nothing.
    /// Journaled with the step's failure.
    public var doubtKey: Int?
    /// Why a failed step has nothing to undo ("check: absent"), for the
    /// summary. Not journaled: after a restart the summary gives no reason.
    public var nothingToUndo: String?

    init(id: String, path: String) {
        self.id = id
        self.path = path
    }

    /// The idempotency key of the latest execute attempt.
    func executeKey(runID: String) -> String {
        "\(runID)/\(id)/\(max(keyAttempt, 1))"
    }

    /// The key of revert attempt `attempt` of the latest execute attempt:
    /// never the create's key, so an API that ties a key to its first
    /// request does not replay the create for the revert.
    func revertKey(runID: String, attempt: Int) -> String {
        "\(executeKey(runID: runID))/revert/\(attempt)"
    }

    /// The attempt context journaled with a step's start.
    var journaledContext: JSONValue? {
        var members: [String: JSONValue] = [:]
        if case .object(let frame)? = retryContext { members = frame }
        if let before { members["before"] = .string(before.rawValue) }
        if let stateBefore { members["state_before"] = stateBefore }
        return members.isEmpty ? nil : .object(members)
    }

    /// `old_state` / `new_state`, journaled with the step's outcome.
    var stateData: [String: JSONValue] {
        var data: [String: JSONValue] = [:]
        if let stateBefore { data["old_state"] = stateBefore }
        if let stateAfter { data["new_state"] = stateAfter }
        return data
    }

    /// `state.before` and `state.after`, as revert and check read them.
    var stateContext: JSONValue {
        .object(["before": stateBefore ?? .object([:]), "after": stateAfter ?? .object([:])])
    }
}

/// The answer of a step's check before the step ran.
public enum BeforeProbe: String, Sendable, Hashable, Codable {
    /// Already there: whatever happens, the step is not reverted.
    case present
    case absent
    /// The check could not tell (or needs outputs the step has not made).
    case unknown

    init(_ answer: CheckResult) {
        switch answer {
        case .present: self = .present
        case .absent: self = .absent
        case .unknown: self = .unknown
        }
    }
}

extension StepRecord {
    /// The record as it may leave the engine (in a run's report): every
    /// value and message with the run's secrets masked.
    func masked(by mask: SecretMask) -> StepRecord {
        guard !mask.isEmpty else { return self }
        var record = self
        record.input = input.map(mask.callAsFunction)
        record.outputs = outputs.map(mask.callAsFunction)
        record.error = error.map(mask.callAsFunction)
        record.compensation = compensation.map(mask.callAsFunction)
        record.retryContext = retryContext.map(mask.callAsFunction)
        record.stateBefore = stateBefore.map(mask.callAsFunction)
        record.stateAfter = stateAfter.map(mask.callAsFunction)
        record.nothingToUndo = nothingToUndo.map(mask.callAsFunction)
        return record
    }
}
