import AtomdSpec

/// A failure `atomd rehearse` injects into one step of a run, so that the
/// job's compensation runs for real and can be checked.
public struct InjectedFailure: Sendable, Hashable, Codable {
    public enum When: String, Sendable, Hashable, Codable, CaseIterable {
        /// The execute ran and succeeded; then the step fails (its effect is
        /// in the world, and its revert must remove it).
        case after
        /// The step fails in place of its execute (nothing of it happened;
        /// only the steps before it are reverted).
        case instead
    }

    public var step: String
    public var when: When

    public init(step: String, when: When) {
        self.step = step
        self.when = when
    }

    var message: String {
        switch when {
        case .after: "rehearsal: a failure injected after the execute succeeded"
        case .instead: "rehearsal: a failure injected in place of the execute"
        }
    }
}

/// What a rehearsal found different after compensation from what the
/// step's probes saw before it ran: something compensation left behind.
public struct RehearsalDifference: Sendable, Hashable, Codable {
    public enum Probe: String, Sendable, Hashable, Codable {
        case check, state
    }

    public var step: String
    public var probe: Probe
    /// In words: "check: present (absent before the run)", "target: /srv/b (was /srv/a)".
    public var text: String

    public init(step: String, probe: Probe, text: String) {
        self.step = step
        self.probe = probe
        self.text = text
    }
}
