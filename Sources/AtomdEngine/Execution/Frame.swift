import AtomdSpec

extension RunExecutor {
    /// Per-scope values expressions can read.
    struct Frame: Sendable {
        /// `retry.item` and `retry.attempt` of the innermost retrying group.
        var retry: JSONValue?
        /// `groups.GROUP.item` and `.attempt` of every retrying group around.
        var groups: [String: JSONValue] = [:]
        /// `finally` steps: failures are recorded, nothing pauses or halts.
        var inFinally = false
        /// The variables the attempt ran with, when an operator had changed
        /// them since the run started (`atomd set`); nil: the run's own.
        var vars: JSONValue?
        /// Rebuilt from a journaled attempt, for its check, state probe,
        /// revert or recovery: they see the variables it ran with.
        var recorded = false

        init() {}

        /// The frame an attempt journaled (`StepRecord.retryContext`).
        init(journaled context: JSONValue?) {
            retry = context?["retry"] == .null ? nil : context?["retry"]
            if case .object(let groups)? = context?["groups"] { self.groups = groups }
            vars = context?["vars"] == .null ? nil : context?["vars"]
            recorded = true
        }

        /// The frame inside attempt `attempt` of retrying group `group`.
        func entering(group: String, item: JSONValue?, attempt: Int) -> Frame {
            var inner = self
            let value: JSONValue = .object(["item": item ?? .null, "attempt": .integer(Int64(attempt))])
            inner.retry = value
            inner.groups[group] = value
            return inner
        }

        /// The contexts these values fill (none outside retrying groups).
        var contexts: [String: JSONValue] {
            guard let retry else { return [:] }
            return ["retry": retry, "groups": .object(groups)]
        }

        /// What is journaled with each attempt: the same and `vars`; nil
        /// outside retrying groups while the variables are the run's own.
        var journaled: JSONValue? {
            var members = contexts
            if let vars { members["vars"] = vars }
            return members.isEmpty ? nil : .object(members)
        }
    }

    /// The frame a step's latest attempt ran in: what its revert, its check
    /// and recovery must see, whoever calls them and whenever.
    func frame(of record: StepRecord?, or live: Frame) -> Frame {
        guard let record, record.attempts > 0 else { return live }
        var frame = Frame(journaled: record.retryContext)
        frame.inFinally = live.inFinally
        return frame
    }
}
