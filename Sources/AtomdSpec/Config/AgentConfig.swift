/// The agent configuration file (`atomd.yaml`). Every section is optional;
/// what is not set keeps its default.
public struct AgentConfig: Sendable, Hashable {
    /// The file it was read from, for messages and relative paths.
    public var file: String?
    public var agent = AgentSection()
    public var api = APISection()
    public var plugins = PluginConfig()
    /// Where the journal is: SQLite in the home, or PostgreSQL.
    public var journal = JournalConfig()

    public init(file: String? = nil) {
        self.file = file
    }
}

/// `plugins:` in the agent configuration.
public struct PluginConfig: Sendable, Hashable {
    /// Where plugins are found, in order. Relative paths are relative to the
    /// configuration file's directory. Nil: HOME/plugins.
    public var directories: [String]?
    /// Plugin names mapped to `isolated` (the default) or `in-process`.
    public var inProcess: Set<String> = []
    /// When set, only plugin files with these SHA-256 digests load.
    public var allowSHA256: Set<String>?
    public var callTimeout: Duration?
    public var cancelGrace: Duration?
    /// Bytes; nil: the default. `unlimited` is 0.
    public var memoryLimit: Int?
    public var idleHosts: Int?

    public init() {}
}

/// `agent:` in the agent configuration. Relative paths are relative to the
/// agent's home (`--home`). Nil: the default.
public struct AgentSection: Sendable, Hashable {
    /// The spool root (incoming/, processing/, done/, failed/). Default HOME/spool.
    public var spool: String?
    /// Step logs, LOGS/RUN/STEP.ATTEMPT.log. Default HOME/logs.
    public var logs: String?
    /// Runs at once. Default 4.
    public var maxRuns: Int?
    /// How long SIGTERM waits for running runs. Default 60s.
    public var stopTimeout: Duration?
    /// `full` (default) or `normal`.
    public var journalSync: String?
    /// How long what the agent keeps is kept.
    public var retention = RetentionConfig()

    public init() {}
}

/// `agent.retention`: how long closed runs stay in the journal, their step
/// logs in LOGS/RUN/, and job files in the spool's done/. Nil: the default.
public struct RetentionConfig: Sendable, Hashable {
    public var runs: Duration?
    public var logs: Duration?
    public var done: Duration?

    public init() {}
}

/// `api:` in the agent configuration: the control socket and who may use it.
public struct APISection: Sendable, Hashable {
    /// Default HOME/atomd.sock; relative paths are relative to the home.
    public var socket: String?
    /// Members of this group may call everything (root and the agent's user always may).
    public var group: String?
    /// Any local user may call the read-only endpoints. Default false.
    public var publicRead: Bool?
    /// What jobs of submitters other than root and the agent's user may act
    /// as and read. Default: not set, anything.
    public var runAs: RunAsConfig?
    /// Who may steer every run, not only their own (root and the agent's
    /// user always may).
    public var admins: Principals?
    /// Where the web console is served; nil: no console.
    public var listen: ConsoleAddress?
    /// HTTPS for the console; required when `listen` is not a loopback address.
    public var tls: ConsoleTLS?

    public init() {}
}

/// Users and groups named in the configuration (`api.admins`).
public struct Principals: Sendable, Hashable {
    public var users: [String] = []
    public var groups: [String] = []

    public init(users: [String] = [], groups: [String] = []) {
        self.users = users
        self.groups = groups
    }
}

/// `api.run_as`: a list of users, or `{ users, groups, secrets }`. A job
/// acts as a user (`user:` of `run:` actions; atomd's own user for actions
/// without one and for plugin atoms) with one of that user's own groups or
/// one listed in `groups`, and reads secret files only under the
/// directories in `secrets` (never the agent's environment).
public struct RunAsConfig: Sendable, Hashable {
    public var users: [String] = []
    public var groups: [String] = []
    public var secrets: [String] = []

    public init(users: [String] = [], groups: [String] = [], secrets: [String] = []) {
        self.users = users
        self.groups = groups
        self.secrets = secrets
    }
}
