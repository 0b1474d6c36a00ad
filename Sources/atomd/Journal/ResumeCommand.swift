import AtomdAgent
import ArgumentParser
import AtomdEngine
import AtomdJournal
import AtomdPlugins
import AtomdSpec
import Foundation

struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Resume a paused run in the agent, or finish a run that atomd did not finish (killed, or the machine went down).",
        discussion: """
            When the running agent holds the run (`atomd pause` paused it), the agent lets it go \
            on. Otherwise the run is finished here, in the foreground:

            Runs the job exactly as it was started (the text kept in the journal, with its \
            --var values; secrets are read again). Steps that finished are not run again. A step \
            that was running is in doubt: any processes it left are stopped, then its check \
            decides (present: done; absent: run again with the same idempotency key). Without a \
            usable check, a step marked idempotent runs again and any other is treated as failed, \
            so the run is compensated. A compensation under way goes on; finally steps that did \
            not run do. `atomd runs --status running` lists runs that may need this.

            Exit codes are those of `atomd run`.
            """
    )

    @OptionGroup var selection: RunSelection

    @OptionGroup var configOptions: ConfigOptions

    @OptionGroup var socketOption: SocketOption

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let client = AgentClient(socket: socketOption.path(home: selection.homeOptions.home))
        var reply: [UInt8]?
        do throws(AgentClient.Failure) {
            reply = try await client.post("/runs/\(selection.runID.percentEscaped)/resume")
        } catch {
            // Finished here only when no agent answers, or the agent does
            // not hold the run. Its refusals (a rule: the run is rolling
            // back; not this user's run) and a socket this user may not use
            // are said, not worked around.
            switch error {
            case .unavailable: break
            case .refused(409, _, nil): break
            case .refused, .forbidden: throw error.exit
            }
        }
        if let reply {
            if output.json {
                try Output.json(client.decode([String: String].self, from: reply))
            } else {
                Output.line("resume requested for run \(selection.runID) in the agent")
            }
            return
        }
        let (journal, run) = try await selection.load()
        let ownership = try await selection.homeOptions.claim(journal)
        defer { withExtendedLifetime(ownership) {} }
        guard run.isOpen else {
            Output.error("run \(run.id) has already ended (\(run.status.rawValue)); nothing to resume")
            throw AtomdExit.usage.code
        }
        let label = "\(run.jobFile) (journaled copy)"
        let job = try JobFile.parse(Array(run.jobText.utf8), file: label)
        let request: RunRequest
        do {
            request = RunRequest(job: job, runID: run.id, vars: run.vars,
                                 secrets: try SecretResolver.resolve(job.secrets))
        } catch {
            Output.error("\(label): error: \(error)")
            throw AtomdExit.usage.code
        }
        let history: [EngineEvent]
        do {
            history = try await journal.events(of: run.id)
        } catch {
            Output.error("error: \(error)")
            throw AtomdExit.unavailable.code
        }
        let home = selection.homeOptions.home
        let catalog = PluginCatalog(settings: try configOptions.pluginSettings(home: home))
        let registry = try await BuiltinAtoms.registry(home: home, for: job, catalog: catalog)
        let session = RunSession(job: job, label: label, home: home, registry: registry, journal: journal, json: output.json)
        try await session.execute { engine throws(RunSetupError) in try engine.resume(request, history: history) }
    }
}

/// The run a command acts on: its id and the home whose journal holds it.
struct RunSelection: ParsableArguments {
    @Argument(help: ArgumentHelp("The run id (see `atomd runs`).", valueName: "run"))
    var runID: String

    @OptionGroup var homeOptions: HomeOptions

    /// The journal and the run; an unknown run exits 2, a journal that
    /// cannot be read exits 4.
    func load() async throws -> (any JournalStore, JournaledRun) {
        let journal = try await homeOptions.journal(creating: false)
        let found: JournaledRun?
        do {
            found = try await journal.run(runID)
        } catch {
            Output.error("error: \(error)")
            throw AtomdExit.unavailable.code
        }
        guard let found else {
            Output.error("error: no run \(runID) in \(journal.location); `atomd runs` lists the runs")
            throw AtomdExit.usage.code
        }
        return (journal, found)
    }
}
