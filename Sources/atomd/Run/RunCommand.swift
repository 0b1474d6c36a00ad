import AtomdAgent
import ArgumentParser
import AtomdEngine
import AtomdJournal
import AtomdPlugins
import AtomdSpec
import Foundation

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a job in the foreground, compensating automatically if a step fails.",
        discussion: """
            Validates the job, then runs it with live progress: on a terminal, a table of steps \
            (state, attempt, duration, last log line) that updates in place; otherwise one line \
            per transition. Afterwards a summary lists every compensation action.

            Ctrl-C cancels the run: running steps are cancelled and what was done is reverted. \
            A second Ctrl-C stops at once, without compensating.

            Atoms available now: run (shell steps, each in its own process group; output \
            in HOME/logs/RUN/STEP.ATTEMPT.log) and the test atoms test.noop, test.sleep, \
            test.fail and test.world (see the README), http (HTTP calls through libcurl), and the \
            atoms of plugins (uses: PLUGIN.ATOM), loaded from the plugin directories of the agent \
            configuration (default HOME/plugins; see `atomd plugins`). A job that needs an atom \
            that is not there, or a plugin that cannot be loaded, is refused before anything runs.

            Every transition is journaled in HOME/journal.sqlite before atomd goes on. If atomd \
            is killed, `atomd resume RUN` finishes the run: done steps are not run again, a \
            step that was running is resolved by its check, and a compensation under way goes on.

            Exit codes: 0 succeeded; 1 failed and fully compensated (or cancelled); 2 invalid \
            job or usage; 3 something is left behind (compensation failed, or on_failure: fail); \
            4 the journal cannot be used.
            """
    )

    @Argument(help: ArgumentHelp("The job file.", valueName: "file"))
    var file: String

    @Option(name: .customLong("var"), help: ArgumentHelp(
        "Override a variable declared in the job's vars (repeatable). The value is read like a YAML scalar: 20 is a number, true a boolean.",
        valueName: "name=value"))
    var vars: [String] = []

    @OptionGroup var homeOptions: HomeOptions

    @OptionGroup var configOptions: ConfigOptions

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let (job, text) = try JobFile.loadWithText(file)
        let request: RunRequest
        let overrides: [String: JSONValue]
        do {
            overrides = try Self.parseVars(vars)
            request = RunRequest(job: job, runID: RunID.make(), vars: overrides,
                                 secrets: try SecretResolver.resolve(job.secrets))
        } catch {
            Output.error("\(file): error: \(error)")
            throw AtomdExit.usage.code
        }
        let catalog = PluginCatalog(settings: try configOptions.pluginSettings(home: homeOptions.home))
        let registry = try await BuiltinAtoms.registry(home: homeOptions.home, for: job, catalog: catalog)
        let journal = try await homeOptions.journal()
        let ownership = try await homeOptions.claim(journal)
        defer { withExtendedLifetime(ownership) {} }
        let session = RunSession(job: job, label: file, home: homeOptions.home, registry: registry, journal: journal, json: output.json)
        do {
            try await journal.createRun(NewRun(id: request.runID ?? "", jobName: job.name, jobFile: file, jobText: text,
                                               vars: overrides))
        } catch {
            Output.error("error: the journal could not record the run: \(error)")
            throw AtomdExit.unavailable.code
        }
        try await session.execute(unstarted: request.runID) { engine throws(RunSetupError) in try engine.start(request) }
    }

    static func parseVars(_ pairs: [String]) throws -> [String: JSONValue] {
        var vars: [String: JSONValue] = [:]
        for pair in pairs {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw ValidationError("--var takes name=value, not '\(pair)'")
            }
            let value = String(pair[pair.index(after: equals)...])
            vars[String(pair[..<equals])] = ScalarValue(YAMLNode.Scalar(text: value, style: .plain)).jsonValue
        }
        return vars
    }
}
