/// A job file, decoded and validated: the transaction the agent runs.
public struct Job: Sendable, Hashable {
    /// The file it came from, as named by the user.
    public var file: String
    public var version: Int
    public var name: String
    public var description: String?
    public var vars: [String: JSONValue]
    public var env: [EnvironmentVariable]
    public var secrets: [String: SecretSource]
    /// Where each secret is declared, for admission's diagnostics.
    public var secretLocations: [String: SourceLocation] = [:]
    public var defaults: StepDefaults
    public var onFailure: FailurePolicy
    public var rollback: RollbackOptions
    /// `rehearse: allowed`: `atomd rehearse` may run it without `--yes`
    /// (it targets something made for rehearsals).
    public var rehearseAllowed: Bool
    public var steps: [Step]
    /// Steps that run after success or after compensation, always.
    public var finally: [Step]
    public var location: SourceLocation

    public init(
        file: String, version: Int = 1, name: String, description: String? = nil,
        vars: [String: JSONValue] = [:], env: [EnvironmentVariable] = [], secrets: [String: SecretSource] = [:],
        defaults: StepDefaults = StepDefaults(), onFailure: FailurePolicy = .revert,
        rollback: RollbackOptions = RollbackOptions(), rehearseAllowed: Bool = false, steps: [Step], finally: [Step] = [],
        location: SourceLocation = .start
    ) {
        self.file = file
        self.version = version
        self.name = name
        self.description = description
        self.vars = vars
        self.env = env
        self.secrets = secrets
        self.defaults = defaults
        self.onFailure = onFailure
        self.rollback = rollback
        self.rehearseAllowed = rehearseAllowed
        self.steps = steps
        self.finally = finally
        self.location = location
    }

    /// Every step, depth first in file order, groups before their children.
    public var allSteps: [Step] { Self.depthFirst(steps, finally) }

    /// The main steps (not `finally`), depth first in file order, groups
    /// before their children.
    public var mainSteps: [Step] { Self.depthFirst(steps) }

    private static func depthFirst(_ lists: [Step]...) -> [Step] {
        // One array for the whole job, not one per step and group.
        var all: [Step] = []
        func add(_ steps: [Step]) {
            for step in steps {
                all.append(step)
                if let group = step.group { add(group.steps) }
            }
        }
        for list in lists { add(list) }
        return all
    }

    /// The plugin atoms (`PLUGIN.ATOM`) the job uses, in actions, reverts, checks and state probes.
    public var pluginAtoms: [PluginAction] {
        allSteps.flatMap(\.actions).compactMap { entry in
            if case .plugin(let plugin) = entry.action { return plugin }
            return nil
        }
    }
}

/// What the engine does when a step fails for good.
public enum FailurePolicy: String, Sendable, Hashable, CaseIterable, Codable {
    /// Compensate: revert what was done, newest first.
    case revert
    /// Stop at the failed step and wait for the operator.
    case pause
    /// Stop and leave everything as it is.
    case fail
}

/// Values applied to every step that does not set its own.
public struct StepDefaults: Sendable, Hashable {
    public var timeout: Duration?
    public var retry: RetryPolicy?

    public init(timeout: Duration? = nil, retry: RetryPolicy? = nil) {
        self.timeout = timeout
        self.retry = retry
    }
}

/// What happens after an operator rollback.
public struct RollbackOptions: Sendable, Hashable {
    /// Continue from the rollback target instead of pausing there.
    public var autoResume: Bool

    public init(autoResume: Bool = false) {
        self.autoResume = autoResume
    }
}

/// Where the agent reads a secret's value from. Values are never in the job file.
public enum SecretSource: Sendable, Hashable {
    case environment(String)
    case file(String)
}

/// One `NAME: value` environment entry; the value may contain expressions.
public struct EnvironmentVariable: Sendable, Hashable {
    public var name: String
    public var value: Template

    public init(name: String, value: Template) {
        self.name = name
        self.value = value
    }
}
