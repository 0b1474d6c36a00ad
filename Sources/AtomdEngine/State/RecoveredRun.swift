import AtomdSpec
import Foundation

/// A run rebuilt from its journaled events, for recovery. Pure: the same
/// events always give the same state, so recovery can be tested by cutting an
/// in-memory history at every point.
///
/// Inputs and outputs come back as they were journaled, that is with secret
/// values redacted; the executor restores inputs that need them.
struct RecoveredRun: Sendable {
    private(set) var status: RunStatus = .queued
    private(set) var records: [String: StepRecord] = [:]
    /// The run was cancelled before it stopped: compensation ends `cancelled`.
    private(set) var cancelled = false
    /// The run ended and its `finally` steps ran: nothing to resume.
    private(set) var closed = false
    /// The last sequence number used; resumed events go on from here.
    private(set) var lastSequence = 0
    private(set) var completions = 0
    /// Paused by the operator or after a rollback: still paused after a
    /// restart, until the operator resumes it.
    private(set) var staysPaused = false
    /// A rollback reserved (`--reserve`), until it began or was cancelled.
    private(set) var reservation: RollbackRequest?
    /// Variables the operator set while the run was paused, latest last.
    private(set) var setVars: [String: JSONValue] = [:]
    /// Of those, the ones `--retry --var` gave a retried revert.
    private(set) var retryVars: [String: JSONValue] = [:]
    /// An operator rollback journaled as begun and not as done.
    private(set) var rollback: RollbackPlan?
    /// A rollback accepted and not begun (it waits for running steps): it
    /// is carried out after the restart, as the rules then allow.
    private(set) var asked: RollbackRequest?

    init(table: JobTable, history: [EngineEvent]) {
        for node in table.nodes.values {
            records[node.step.id] = StepRecord(id: node.step.id, path: node.path)
        }
        for event in history.sorted(by: { $0.sequence < $1.sequence }) {
            apply(event, table: table)
        }
    }

    /// Whether a journal that holds these events has anything left to do.
    var needsRecovery: Bool { !closed }

    private mutating func apply(_ event: EngineEvent, table: JobTable) {
        lastSequence = max(lastSequence, event.sequence)
        switch event.kind {
        case .run(let next):
            status = next
            staysPaused = next == .paused && event.data?["stays_paused"] == .bool(true)
            if next == .reverting, event.data?["cancelled"] == .bool(true) { cancelled = true }
            if next == .cancelled { cancelled = true }
        case .closed:
            closed = true
        case .step(let next):
            guard let id = event.stepID, var record = records[id] else { return }
            if next == .running, table[id]?.step.group?.retry != nil, let attempt = event.attempt, attempt > record.attempts,
               record.attempts > 0 {
                // A retry controller's next attempt starts from a clean slate,
                // even if the crash came before every step was reset.
                resetInside(id, table: table)
            }
            record.status = next
            apply(next, event, to: &record, step: table[id]?.step)
            records[id] = record
        case .note:
            if let plan = RollbackPlan(journaled: event.data?["rollback"]) {
                rollback = plan
                reservation = nil
                asked = nil
            }
            if let request = RollbackRequest(journaled: event.data?["rollback_asked"]) { asked = request }
            if event.data?["rollback_dropped"] == .bool(true) { asked = nil }
            if let reserved = RollbackRequest(journaled: event.data?["reserve"]) { reservation = reserved }
            if event.data?["reserve_cancelled"] == .bool(true) { reservation = nil }
            if case .object(let values)? = event.data?["set_vars"] {
                setVars.merge(values) { _, new in new }
                if event.data?["for_retry"] == .bool(true) { retryVars.merge(values) { _, new in new } }
            }
            if event.data?["rollback_done"] == .bool(true) { rollback = nil }
            // `--retry` of a run that ended `revert_failed`: open again.
            if event.data?["reopened"] == .bool(true) { closed = false }
            // A revert's later attempts are announced with their number, so
            // that an interrupted one runs again under its own key.
            guard let id = event.stepID, case .integer(let attempt)? = event.data?["revert_attempt"] else { return }
            records[id]?.revertAttempt = Int(clamping: attempt)
        case .log, .progress:
            return
        }
    }

    private mutating func apply(_ next: StepStatus, _ event: EngineEvent, to record: inout StepRecord, step: Step?) {
        switch next {
        case .running:
            if let attempt = event.attempt { record.attempts = max(record.attempts, attempt) }
            if let key = event.idempotencyKey {
                record.keyAttempt = key.split(separator: "/").last.flatMap { Int($0) } ?? record.attempts
                record.input = event.data
                record.error = nil
                var context = event.context
                record.before = if case .string(let text)? = context?["before"] { BeforeProbe(rawValue: text) } else { nil }
                record.stateBefore = context?["state_before"].unlessNull
                if case .object(var members)? = context {
                    members["before"] = nil
                    members["state_before"] = nil
                    context = members.isEmpty ? nil : .object(members)
                }
                record.retryContext = context
            }
            if record.startedAt == nil || event.attempt == 1 { record.startedAt = event.time }
        case .succeeded, .failed, .ignored, .skipped:
            record.finishedAt = event.time
            completions += 1
            record.completion = completions
            record.effect = event.effect ?? (next == .succeeded ? .made : .none)
            if next == .succeeded || event.data?["outputs"].unlessNull != nil {
                record.outputs = Self.unmasked(event.data?["outputs"], step: step)
            }
            if next != .skipped {
                record.stateBefore = event.data?["old_state"].unlessNull ?? record.stateBefore
                record.stateAfter = event.data?["new_state"].unlessNull
            }
            if next == .skipped, event.effect == .preexisting { record.outputs = Self.unmasked(event.data, step: step) }
            if next == .failed || next == .ignored {
                record.error = event.detail
                if case .integer(let key)? = event.data?["in_doubt_key"] { record.doubtKey = Int(key) }
            }
        case .reverting:
            record.revertAttempt = 1
        case .reverted:
            record.effect = .undone
            record.compensation = "reverted"
        case .revertFailed:
            record.error = event.detail
            record.compensation = "revert failed: left behind"
        case .pending:
            record.completion = nil
            record.compensation = nil
            record.effect = .none
            record.outputs = nil
            record.error = nil
            record.doubtKey = nil
            record.before = nil
            record.stateBefore = nil
            record.stateAfter = nil
            record.retryContext = nil
            record.revertAttempt = 0
        }
    }

    private mutating func resetInside(_ group: String, table: JobTable) {
        for id in table.subtree(group).dropFirst() {
            guard let path = records[id]?.path else { continue }
            records[id] = StepRecord(id: id, path: path)
        }
    }

    /// Outputs under `mask:` were journaled masked: they are missing, not
    /// `***`, so that a revert needing one fails and says so instead of
    /// acting on the mask.
    private static func unmasked(_ outputs: JSONValue?, step: Step?) -> JSONValue? {
        guard let step, !step.mask.isEmpty, case .object(var members)? = outputs else { return outputs }
        for name in step.mask where members[name] == .string(SecretMask.mask) { members[name] = nil }
        return .object(members)
    }

}
