import AtomdJournal
import AtomdJournalPostgres
import AtomdPlugins
import AtomdSpec
import Foundation

/// The agent configuration with every default filled in and every path
/// made absolute.
public struct AgentSettings: Sendable {
    /// The journal (HOME/journal.sqlite) and the base of relative paths.
    public var home: String
    public var configFile: String?
    public var spool: SpoolLayout
    public var logs: String
    public var socket: String
    public var maxRuns: Int
    public var stopTimeout: Duration
    public var durability: DurableJournal.Durability
    /// `journal.postgres`: the journal in PostgreSQL; nil: HOME/journal.sqlite.
    public var postgres: PostgresJournalConfig?
    /// Members may use the control API; nil: only root and the agent's user.
    public var group: gid_t?
    public var publicRead: Bool
    /// `api.run_as`; nil: jobs may act as any user.
    public var runAs: RunAsPolicy?
    /// `api.admins`, resolved: they steer every run.
    public var admins: Admins
    public var plugins: PluginSettings
    /// `agent.retention`: closed runs, their step logs, done/ job files.
    public var retention: Retention
    /// `api.listen`: where the web console is served; nil: no console.
    public var listen: ConsoleAddress?
    /// `api.tls`, with absolute paths: the console serves HTTPS.
    public var consoleTLS: ConsoleTLS?

    /// Fails when `api.group` names no group.
    public init(_ config: AgentConfig, home: String) throws(AgentError) {
        let home = Self.absolute(home, base: FileManager.default.currentDirectoryPath)
        self.home = home
        configFile = config.file
        spool = SpoolLayout(root: Self.absolute(config.agent.spool ?? "spool", base: home))
        logs = Self.absolute(config.agent.logs ?? "logs", base: home)
        socket = Self.absolute(config.api.socket ?? "atomd.sock", base: home)
        maxRuns = config.agent.maxRuns ?? 4
        stopTimeout = config.agent.stopTimeout ?? .seconds(60)
        durability = config.agent.journalSync == "normal" ? .normal : .full
        postgres = config.journal.postgres
        publicRead = config.api.publicRead ?? false
        runAs = config.api.runAs.map(RunAsPolicy.init)
        admins = try Admins(config.api.admins ?? Principals())
        plugins = PluginSettings(config, home: home)
        listen = config.api.listen
        consoleTLS = config.api.tls.map {
            ConsoleTLS(certificate: Self.absolute($0.certificate, base: home), key: Self.absolute($0.key, base: home))
        }
        retention = Retention(runs: config.agent.retention.runs ?? .seconds(30 * 86_400),
                              logs: config.agent.retention.logs ?? .seconds(7 * 86_400),
                              done: config.agent.retention.done ?? .seconds(30 * 86_400))
        if let name = config.api.group {
            guard let entry = getgrnam(name) else {
                throw AgentError("api.group: there is no group '\(name)'", hint: "create it (groupadd \(name)) or remove the key")
            }
            group = entry.pointee.gr_gid
        }
    }

    static func absolute(_ path: String, base: String) -> String {
        let joined = path.hasPrefix("/") ? path : base + "/" + path
        return URL(fileURLWithPath: joined).standardizedFileURL.path
    }
}

/// Why the agent cannot start or go on; the hint says what to do.
public struct AgentError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var hint: String?

    public init(_ message: String, hint: String? = nil) {
        self.message = message
        self.hint = hint
    }

    public var description: String { message + (hint.map { " (\($0))" } ?? "") }
}

/// How long the agent keeps what it has finished with (`agent.retention`).
public struct Retention: Sendable, Hashable {
    /// Closed runs in the journal, from when they closed.
    public var runs: Duration
    /// LOGS/RUN/ of closed runs, from when they closed.
    public var logs: Duration
    /// Job files in the spool's done/, from when they were filed.
    public var done: Duration
}
