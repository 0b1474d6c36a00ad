import ArgumentParser
import AtomdAgent
import AtomdJournal
import AtomdJournalPostgres
import AtomdSpec
import Foundation

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Work with the agent configuration (atomd.yaml).",
        subcommands: [ConfigCheckCommand.self]
    )
}

struct ConfigCheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check an agent configuration before the agent reads it.",
        discussion: """
            Reads the file as `atomd agent` reads it at start and on SIGHUP (`systemctl reload \
            atomd`): every key, type and range, then what only the system can tell (the \
            api.group exists). Prints each problem as FILE:LINE:COLUMN: error: MESSAGE; HINT, \
            or the settings the agent would use, every default filled in and every path made \
            absolute against --home. Run it before a reload: a reload with an invalid file is \
            refused and the running configuration stays, but only the agent's log says so.

              atomd config check /etc/atomd/atomd.yaml --home /var/lib/atomd

            With journal.postgres it also connects to the database as the agent would and \
            checks that commits are durable (synchronous_commit and fsync on, unless \
            allow_async), changing nothing.

            Exit codes: 0 valid; 2 invalid or unreadable; 4 the journal's database cannot be used.
            """
    )

    @Argument(help: ArgumentHelp("The configuration. Default: HOME/atomd.yaml.", valueName: "file"))
    var file: String?

    @Option(help: ArgumentHelp("The atomd home the agent runs with (the base of relative paths).", valueName: "dir"))
    var home = "./.atomd"

    @OptionGroup var output: OutputOptions

    /// What `--json` prints for a valid file.
    struct Checked: Encodable {
        var file: String
        var home: String
        var spool: String
        var logs: String
        var socket: String
        var max_runs: Int
        var stop_timeout_seconds: Int64
        var journal_sync: String
        var public_read: Bool
        var run_as: RunAs?
        var plugin_directories: [String]
        /// `journal.postgres.url`, and what the server said; nil: SQLite in the home.
        var journal: String?
        var journal_server: String?
    }

    struct RunAs: Encodable {
        var users: [String]
        var groups: [String]
        var secrets: [String]
    }

    func run() async throws {
        let path = file ?? home + "/atomd.yaml"
        let config: AgentConfig
        do {
            config = try ConfigLoader.load(path: path)
        } catch {
            for problem in error.diagnostics { Output.error(problem.description) }
            throw AtomdExit.usage.code
        }
        let settings: AgentSettings
        do {
            settings = try AgentSettings(config, home: home)
        } catch {
            Output.error("\(path): error: \(error)")
            throw AtomdExit.usage.code
        }
        var checked = Checked(file: path, home: settings.home, spool: settings.spool.root, logs: settings.logs, socket: settings.socket,
                              max_runs: settings.maxRuns, stop_timeout_seconds: settings.stopTimeout.components.seconds,
                              journal_sync: settings.durability == .full ? "full" : "normal", public_read: settings.publicRead,
                              run_as: settings.runAs.map { RunAs(users: $0.users.sorted(), groups: $0.groups.sorted(), secrets: $0.secretDirectories) },
                              plugin_directories: settings.plugins.directories, journal: settings.postgres?.url.description)
        if let postgres = settings.postgres {
            do {
                checked.journal_server = try await PostgresJournal.probe(PostgresSettings(postgres))
            } catch {
                Output.error("\(path): error: \(error)")
                throw AtomdExit.unavailable.code
            }
        }
        if output.json { return try Output.json(checked) }
        Output.line("\(path): ok")
        Output.line("  spool \(checked.spool), logs \(checked.logs), socket \(checked.socket)")
        Output.line("  up to \(checked.max_runs) runs at once, stop timeout \(checked.stop_timeout_seconds)s, journal sync \(checked.journal_sync)")
        let runAs = checked.run_as.map { runAs in
            "users " + runAs.users.joined(separator: ", ") + (runAs.groups.isEmpty ? "" : "; groups " + runAs.groups.joined(separator: ", "))
                + (runAs.secrets.isEmpty ? "" : "; secrets under " + runAs.secrets.joined(separator: ", "))
        }
        Output.line("  api: public_read \(checked.public_read), run_as " + (runAs ?? "any user"))
        Output.line("  journal " + (checked.journal.map { "\($0): \(checked.journal_server ?? "")" } ?? settings.home + "/journal.sqlite"))
        Output.line("  plugins from " + (checked.plugin_directories.isEmpty ? "nowhere" : checked.plugin_directories.joined(separator: ", ")))
    }
}
