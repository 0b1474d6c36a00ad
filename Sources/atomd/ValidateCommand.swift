import ArgumentParser
import AtomdAgent
import AtomdEngine
import AtomdPlugins
import AtomdSpec
import Foundation

struct ValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check job files without running them.",
        discussion: """
            Reads each file, checks it against the job format (version 1) and resolves every \
            ${{ }} expression: unknown keys, wrong types, unknown or out-of-order step \
            references and cycles in 'needs' are all reported, each as

              FILE:LINE:COLUMN: error: MESSAGE; HINT

            All problems are listed, not only the first. Exits 0 when every file is valid, 2 \
            otherwise.

            A job that uses plugin atoms (uses: PLUGIN.ATOM) is checked against the plugins \
            in the plugin directories of --home and --config, as 'atomd run' would load them: \
            the plugin and the atom must exist, and with: must fit the atom's input schema \
            (values computed by ${{ }} are checked when the step runs). When no plugin \
            directory exists, a warning says that plugins were not checked.

            Warned about without failing the file: a step that gets a secret and runs as a user: \
            (other processes of that user can read its environment while it runs), and a run: \
            step that is not idempotent whose script ends with a command its check does not look \
            at (after a crash during it, the check alone decides whether the step succeeded: \
            `touch f && smoke-test` checked with `test -e f` counts an unfinished smoke test as \
            passed; split it, or mark it idempotent: true).

            --strict also reports what `atomd rehearse` could not prove, as warnings that make \
            the file fail: steps with no check or state probe, steps with no revert that are not \
            `revert: none`, reverts that read outputs a failed execute may not have produced, \
            steps with `revert: none` and no check that are not idempotent (a crash during one \
            compensates the whole run), and the steps above whose check cannot tell.
              FILE:LINE:COLUMN: warning: MESSAGE; HINT
            """
    )

    @Argument(help: ArgumentHelp("Job files to check.", valueName: "file"))
    var files: [String]

    @Option(help: ArgumentHelp("The atomd home: its plugins/ directory and atomd.yaml.", valueName: "dir"))
    var home = "./.atomd"

    @Flag(help: "Also fail on what `atomd rehearse` could not prove (steps without checks or reverts).")
    var strict = false

    @OptionGroup var configOptions: ConfigOptions

    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard !files.isEmpty else { throw ValidationError("name at least one job file") }
    }

    func run() async throws {
        var results = files.map(FileResult.init(path:))
        try await checkPlugins(&results)
        if strict { await checkRehearsable(&results) }
        if output.json {
            try Output.json(Report(valid: results.allSatisfy(\.valid), files: results))
        } else {
            for result in results {
                if result.valid {
                    Output.line("\(result.file): ok (job \(result.job ?? ""), \(result.steps ?? 0) steps)")
                }
                for problem in result.errors {
                    Output.line("\(result.file):\(problem.line):\(problem.column): error: \(problem.text)")
                }
                for problem in result.warnings {
                    Output.line("\(result.file):\(problem.line):\(problem.column): warning: \(problem.text)")
                }
            }
            let invalid = results.filter { !$0.valid }
            if results.count > 1, !invalid.isEmpty {
                let problems = invalid.map { $0.errors.count + $0.warnings.count }.reduce(0, +)
                Output.line("\(invalid.count) of \(results.count) files invalid, \(problems) problem(s)")
            }
        }
        if results.contains(where: { !$0.valid }) { throw AtomdExit.usage.code }
    }

    /// Adds what only the plugins can tell to each valid job that uses them.
    private func checkPlugins(_ results: inout [FileResult]) async throws {
        let loaded = results.enumerated().compactMap { index, result in result.loaded.map { (index, $0) } }
        let problems = try await PluginJobCheck.diagnostics(for: loaded.map(\.1), home: home, configOptions: configOptions)
        for ((index, _), found) in zip(loaded, problems) where !found.isEmpty {
            results[index].valid = false
            results[index].errors += found.map(Problem.init)
        }
    }

    /// `--strict`: the rehearsal warnings of each valid job, with the
    /// atoms it would run (a plugin that cannot be loaded counts as one
    /// with no check or revert of its own).
    private func checkRehearsable(_ results: inout [FileResult]) async {
        let catalog = (try? configOptions.pluginSettings(home: home)).map(PluginCatalog.init(settings:))
        for index in results.indices {
            guard let job = results[index].loaded, results[index].valid else { continue }
            var registry = BuiltinAtoms.registry(home: home)
            if let catalog, let loaded = try? await AtomSet.registry(logs: home + "/logs", for: job, catalog: catalog) {
                registry = loaded
            }
            let warnings = RehearsalWarnings.of(job, registry: registry) + InDoubtWarnings.readOnlyNotIdempotent(job) { step in
                step.action.atomName.flatMap { registry[$0]?.capabilities.contains(.check) } ?? false
            }
            results[index].warnings += warnings.map(Problem.init)
            if !warnings.isEmpty || results[index].inDoubt > 0 { results[index].valid = false }
        }
    }

    struct Report: Encodable {
        var valid: Bool
        var files: [FileResult]
    }

    struct FileResult: Encodable {
        var file: String
        var valid: Bool
        var job: String?
        var steps: Int?
        var errors: [Problem]
        /// Who else can read a step's secrets; with `--strict`, also what a
        /// rehearsal could not prove (which alone fails the file).
        var warnings: [Problem] = []
        /// The job, for the checks that need the plugins.
        var loaded: Job?
        /// Steps whose check cannot tell, which `--strict` fails.
        var inDoubt = 0

        enum CodingKeys: String, CodingKey {
            case file, valid, job, steps, errors, warnings
        }

        init(path: String) {
            file = path
            do {
                let loaded = try JobLoader.load(path: path)
                self.loaded = loaded
                valid = true
                job = loaded.name
                steps = loaded.allSteps.count
                errors = []
                let doubts = InDoubtWarnings.checksThatCannotTell(loaded)
                inDoubt = doubts.count
                warnings = (SecretExposure.warnings(loaded) + doubts).map(Problem.init)
                if let step = loaded.allSteps.first(where: { step in
                    if case .plugin(let action) = step.action { return action.plugin == "test" } else { return false }
                }), !AtomSet.testAtomsEnabled {
                    warnings.append(Problem(Diagnostic(
                        file: path, location: step.location,
                        message: "step '\(step.id)' uses a test atom (test.*): atomd run and the agent refuse it unless \(AtomSet.testAtomsVariable)=1 is in their environment",
                        hint: "test atoms are for tests and demos; run with \(AtomSet.testAtomsVariable)=1")))
                }
            } catch {
                valid = false
                errors = error.diagnostics.map(Problem.init)
            }
        }
    }

    struct Problem: Encodable {
        var line: Int
        var column: Int
        var message: String
        var hint: String?

        init(_ diagnostic: Diagnostic) {
            line = diagnostic.location.line
            column = diagnostic.location.column
            message = diagnostic.message
            hint = diagnostic.hint
        }

        var text: String { hint.map { "\(message); \($0)" } ?? message }
    }
}
