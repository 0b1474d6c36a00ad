import ArgumentParser
import AtomdEngine
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
            test.fail and test.world (see the README). The HTTP (http:) atom and plugins \
            arrive with later releases; a job that needs an atom that is not there is refused \
            before anything runs.

            Exit codes: 0 succeeded; 1 failed and fully compensated (or cancelled); 2 invalid \
            job or usage; 3 something is left behind (compensation failed, or on_failure: fail).
            """
    )

    @Argument(help: ArgumentHelp("The job file.", valueName: "file"))
    var file: String

    @Option(name: .customLong("var"), help: ArgumentHelp(
        "Override a variable declared in the job's vars (repeatable). The value is read like a YAML scalar: 20 is a number, true a boolean.",
        valueName: "name=value"))
    var vars: [String] = []

    @Option(help: ArgumentHelp("Where step logs and (later) the journal live.", valueName: "dir"))
    var home = "./.atomd"

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let job = try JobFile.load(file)
        let request: RunRequest
        do {
            request = RunRequest(job: job, vars: try Self.parseVars(vars), environment: ProcessInfo.processInfo.environment,
                                 secrets: try SecretResolver.resolve(job.secrets))
        } catch {
            Output.error("\(file): error: \(error)")
            throw AtomdExit.usage.code
        }
        let progress = RunProgressStyle.make(json: output.json, job: job)
        // Decisions for a paused run come through the agent's control API;
        // in the foreground, say what the operator can do now.
        let pauseHint = EventCallback { event in
            guard event.kind == .run(.paused) else { return }
            Output.error("run paused: \(event.detail ?? "waiting for the operator"). Ctrl-C compensates and stops;"
                         + " retry and skip arrive with the agent's control API")
        }
        let engine = Engine(registry: BuiltinAtoms.registry(home: home), listeners: [progress, pauseHint])
        let handle: RunHandle
        do {
            handle = try engine.start(request)
        } catch {
            Output.error("\(file): error: \(error)")
            throw AtomdExit.usage.code
        }
        let interrupts = InterruptHandler(
            first: {
                Output.error("\ncancelling: running steps are cancelled, then what was done is reverted (Ctrl-C again to stop at once)")
                Task { await handle.cancel() }
            },
            second: {
                Output.error("\nstopped at once: nothing was reverted; steps that ran may have left changes behind")
                Foundation.exit(AtomdExit.compensationFailed.rawValue)
            })
        progress.started()
        let report = await handle.wait()
        interrupts.stop()
        progress.finished(report)
        throw ExitCode(report.status.exitCode)
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
