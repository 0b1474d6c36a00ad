import ArgumentParser
import AtomdAgent
import AtomdSpec
import Foundation

struct SubmitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        abstract: "Validate a job file, then hand it to the agent's spool.",
        discussion: """
            The file is checked as `atomd validate` checks it, plugin atoms included (with \
            --config and HOME/plugins); an invalid one is refused here \
            (exit 2) and never reaches the spool. A valid one goes to the running agent over its \
            socket, which writes it into incoming/ atomically (aside, synced, renamed in; a name \
            in use gets a number). Without a running agent it is written into HOME/spool/incoming \
            the same way, and the agent claims it when it starts. Prints the name it arrived \
            under; `atomd runs` shows its run once claimed. With --json: {"file", "name", "via", "submission"}, \
            where via is "agent" or "spool", name is the name in incoming/ and submission the \
            token its run is found by (`GET /runs?submission=TOKEN`).

            --var NAME=VALUE gives a declared variable a value for this run (read like a YAML \
            scalar, as `atomd run --var` reads it); --on-failure replaces the job's on_failure. \
            Both travel beside the job in the spool (`.NAME.submit.json`, written before the job, \
            moved with it) and are checked before anything is written: an undeclared variable is \
            refused here.

            --wait follows the run: it waits until the agent has claimed the job, prints each \
            step's changes and notes as they are journaled, says so when the run pauses (steer it \
            from another terminal: `atomd resume`, `atomd rollback`, `atomd set`), and exits with \
            the run's exit code once the run is closed. It needs a running agent: without one \
            nothing is written and the command exits 4. With --json, each event follows as a \
            JSON line (as `GET /runs/ID/events` gives it), after the submission's line and \
            before a last line {"run_id", "status", "exit_code"}.

              atomd submit deploy.yaml --var release=2.0.1 --on-failure pause --wait

            Exit codes: 0 submitted (with --wait: the run succeeded); 1 the run was compensated or \
            cancelled; 2 invalid job or variable, or the agent refused it (its report is printed); \
            3 the run failed or its compensation failed; 4 neither the agent nor the spool can be \
            reached.
            """
    )

    @Argument(help: ArgumentHelp("The job file.", valueName: "file"))
    var file: String

    @Option(help: ArgumentHelp("The name in the spool (default: the file's name).", valueName: "name"))
    var name: String?

    @Option(name: .customLong("var"), help: ArgumentHelp("A declared variable's value for this run (repeatable).",
                                                         valueName: "name=value"))
    var vars: [String] = []

    @Option(help: ArgumentHelp("Replace the job's on_failure: revert, pause or fail.", valueName: "policy"))
    var onFailure: FailurePolicy?

    @Flag(help: "Follow the run and exit with its exit code (needs a running agent).")
    var wait = false

    @Option(help: ArgumentHelp("The atomd home, for its default socket and spool.", valueName: "dir"))
    var home = "./.atomd"

    @OptionGroup var socketOption: SocketOption

    @OptionGroup var configOptions: ConfigOptions

    @OptionGroup var output: OutputOptions

    /// What `--json` prints.
    struct Submitted: Encodable {
        var file: String
        var name: String
        var via: String
        /// The token the run is found by (`GET /runs?submission=`).
        var submission: String
    }

    func validate() throws {
        _ = try RunCommand.parseVars(vars)
    }

    func run() async throws {
        let (job, text) = try JobFile.loadWithText(file)
        let problems = try await PluginJobCheck.diagnostics(for: [job], home: home, configOptions: configOptions).first ?? []
        guard problems.isEmpty else {
            for problem in problems { Output.error(problem.description) }
            throw AtomdExit.usage.code
        }
        let values = try RunCommand.parseVars(vars)
        if let unknown = values.keys.sorted().first(where: { job.vars[$0] == nil }) {
            Output.error("\(file): error: --var \(unknown): the job declares no variable '\(unknown)' "
                         + "(declared: \(job.vars.keys.sorted().joined(separator: ", ")))")
            throw AtomdExit.usage.code
        }
        let submission = SpoolSubmission(vars: values, onFailure: onFailure)
        let name = name ?? (file as NSString).lastPathComponent
        let client = AgentClient(socket: socketOption.path(home: home))
        var query = "name=\(name.percentEscaped)"
        if !values.isEmpty, let json = try? JSONEncoder().encode(JSONValue.object(values)) {
            query += "&vars=" + String(decoding: json, as: UTF8.self).percentEscaped
        }
        if let onFailure { query += "&on_failure=" + onFailure.rawValue }
        let reason: String
        do {
            let reply = try await client.post("/jobs?" + query, body: Array(text.utf8))
            let answer = try? client.decode([String: String].self, from: reply)
            let filed = answer?["file"] ?? name
            let token = answer?["submission"] ?? ""
            try report(Submitted(file: file, name: filed, via: "agent", submission: token), saying: "submitted \(file) as incoming/\(filed)")
            if wait { try await SubmitWait(client: client, token: token, json: output.json).follow() }
            return
        } catch let error as AgentClient.Failure {
            guard case .unavailable(let why) = error else { throw error.exit }
            reason = why
        }
        guard !wait else {
            Output.error("error: \(reason); --wait follows a run of a running agent, and nothing was submitted. "
                         + "Start it (`atomd agent`, `systemctl start atomd`) or submit without --wait.")
            throw AtomdExit.unavailable.code
        }
        Output.error("note: \(reason); writing into the spool directly")
        let filed: String
        do {
            filed = try SpoolDrop.write(Array(text.utf8), named: name, submission: submission, into: SpoolLayout(root: home + "/spool"))
        } catch {
            Output.error("error: \(error)")
            throw AtomdExit.unavailable.code
        }
        try report(Submitted(file: file, name: filed, via: "spool", submission: submission.token),
                   saying: "submitted \(file) as \(home)/spool/incoming/\(filed) (the agent claims it when it runs)")
    }

    private func report(_ submitted: Submitted, saying text: String) throws {
        // With --wait, the events follow as JSON lines: this is one more.
        if output.json { try wait ? Output.jsonLine(submitted) : Output.json(submitted) } else { Output.line(text) }
    }
}

extension FailurePolicy: ExpressibleByArgument {}
