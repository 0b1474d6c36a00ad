/// One step of a job: an action plus everything that says how to run,
/// verify and undo it.
public struct Step: Sendable, Hashable {
    public var id: String
    public var location: SourceLocation
    public var name: String?
    public var action: Action
    /// `if:`: the step runs only when this is truthy.
    @Boxed public var condition: Expression?
    public var env: [EnvironmentVariable]
    public var timeout: Duration?
    /// Per-attempt retry policy; group steps use `Group.retry` instead.
    @Boxed public var retry: RetryPolicy?
    /// Declared outputs: name and the expression that computes it after execute.
    public var outputs: [Output]
    /// Outputs that are secrets: masked from the moment the step reports
    /// them, like the job's `secrets`, and never journaled in clear.
    public var mask: [String] = []
    public var revert: Revert
    @Boxed public var check: AuxiliaryAction?
    /// `state:`: probed before and after execute (and again before a
    /// revert); revert and check read `state.before.KEY` / `state.after.KEY`.
    @Boxed public var state: AuxiliaryAction?
    public var continueOnError: Bool
    /// Run `check` first and skip the step when its effect is already present.
    public var converge: Bool
    /// Safe to run again after a crash left it in doubt.
    public var idempotent: Bool
    /// A named mutex shared across jobs.
    public var lock: String?
    /// Sibling steps this one waits for, in a graph group.
    public var needs: [StepReference]

    public init(
        id: String, location: SourceLocation = .start, name: String? = nil, action: Action,
        condition: Expression? = nil, env: [EnvironmentVariable] = [], timeout: Duration? = nil,
        retry: RetryPolicy? = nil, outputs: [Output] = [], revert: Revert = .unspecified,
        check: AuxiliaryAction? = nil, state: AuxiliaryAction? = nil, continueOnError: Bool = false,
        converge: Bool = false, idempotent: Bool = false, lock: String? = nil, needs: [StepReference] = []
    ) {
        self.id = id
        self.location = location
        self.name = name
        self.action = action
        self.condition = condition
        self.env = env
        self.timeout = timeout
        self.retry = retry
        self.outputs = outputs
        self.revert = revert
        self.check = check
        self.state = state
        self.continueOnError = continueOnError
        self.converge = converge
        self.idempotent = idempotent
        self.lock = lock
        self.needs = needs
    }

    public struct Output: Sendable, Hashable {
        public var name: String
        public var value: Template

        public init(name: String, value: Template) {
            self.name = name
            self.value = value
        }
    }

    /// The group this step is, if it is one.
    public var group: Group? {
        if case .group(let group) = action { return group }
        return nil
    }

    /// Every action the step performs, with its key: the step's own (`""`),
    /// then `revert:`, `check:` and `state:` when written.
    public var actions: [(place: String, action: Action)] {
        var actions: [(place: String, action: Action)] = [("", action)]
        if case .action(let revert) = revert { actions.append(("revert", revert.action)) }
        if let check { actions.append(("check", check.action)) }
        if let state { actions.append(("state", state.action)) }
        return actions
    }
}

/// A step id as written somewhere, with where it was written.
public struct StepReference: Sendable, Hashable {
    public var id: String
    public var location: SourceLocation

    public init(id: String, location: SourceLocation) {
        self.id = id
        self.location = location
    }
}

/// How a step is undone.
public indirect enum Revert: Sendable, Hashable {
    /// No `revert:` written: a plugin atom's own revert, or nothing.
    case unspecified
    /// `revert: none`: the step is irreversible; compensation records it and goes on.
    case irreversible
    case action(AuxiliaryAction)
}

/// A `revert:`, `check:` or `state:` action with its own timeout and retry policy.
public struct AuxiliaryAction: Sendable, Hashable {
    public var action: Action
    public var timeout: Duration?
    public var retry: RetryPolicy?
    public var location: SourceLocation

    public init(action: Action, timeout: Duration? = nil, retry: RetryPolicy? = nil, location: SourceLocation = .start) {
        self.action = action
        self.timeout = timeout
        self.retry = retry
        self.location = location
    }
}
