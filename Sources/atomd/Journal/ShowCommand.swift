import ArgumentParser
import AtomdAgent
import AtomdEngine
import AtomdJournal
import AtomdSpec
import Foundation

struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one run (from the running agent, else from the journal): every step with its state, attempts, timings, outputs, errors and compensation.",
        discussion: """
            Inputs and outputs are shown as journaled: secret values are replaced by ***. \
            `--json` prints the run and its steps as one object.
            """
    )

    @OptionGroup var selection: RunSelection

    @OptionGroup var output: OutputOptions

    @OptionGroup var socketOption: SocketOption

    func run() async throws {
        let shown: RunDetail
        let client = AgentClient(socket: socketOption.path(home: selection.homeOptions.home))
        do {
            shown = try client.decode(RunDetail.self, from: try await client.get("/runs/" + selection.runID.percentEscaped))
        } catch AgentClient.Failure.unavailable(let reason) {
            Output.error("note: \(reason); reading the journal instead")
            let (journal, run) = try await selection.load()
            do {
                shown = RunDetail(run, steps: try await journal.steps(of: run.id), waiting: nil)
            } catch {
                Output.error("error: \(error)")
                throw AtomdExit.unavailable.code
            }
        } catch let failure as AgentClient.Failure {
            throw failure.exit
        }
        if output.json {
            try Output.json(shown)
            return
        }
        let run = shown.run
        Output.line("run \(run.id): \(run.status.rawValue)\(shown.detail.map { " — \($0)" } ?? "")")
        Output.line("job \(run.job) from \(run.job_file) (sha256 \(shown.job_sha256.prefix(12))), submitted by \(run.submitter)")
        let held = shown.waiting != nil
        Output.line("started \(run.started_at.map(TimeText.utc) ?? "-") UTC, took \(TimeText.duration(from: run.started_at, to: run.finished_at))"
                    + (run.open && !held ? "; not closed: `atomd resume \(run.id)` finishes it" : ""))
        if let reserved = shown.reserved_rollback {
            Output.line("rollback reserved: when '\(reserved.start ?? "")' succeeds, back to '\(reserved.target)' (\(reserved.mode.rawValue)); "
                        + "`atomd rollback \(run.id) --cancel` drops it")
        }
        if let waiting = shown.waiting, !waiting.isEmpty {
            Output.line("waiting for a decision: " + waiting.map { "`atomd retry|skip \(run.id) \($0)`" }.joined(separator: ", "))
        }
        for wait in shown.locks ?? [] { Output.line(wait) }
        if !shown.vars.isEmpty {
            Output.line("--var " + shown.vars.keys.sorted().map { "\($0)=\(shown.vars[$0]?.interpolated ?? "")" }.joined(separator: " "))
        }
        for step in shown.steps {
            Output.line()
            Output.line("\(step.path): \(step.status.rawValue), \(step.attempts) attempt\(step.attempts == 1 ? "" : "s"), "
                        + TimeText.duration(from: step.startedAt, to: step.finishedAt))
            if let key = step.idempotencyKey { Output.line("  idempotency key: \(key)") }
            if let group = step.processGroup { Output.line("  process group: \(group)") }
            if let outputs = step.outputs, outputs != .object([:]) { Output.line("  outputs: \(outputs.json)") }
            if let change = step.state {
                Output.line("  state: " + StateChange.describe(before: change["before"].unlessNull, after: change["after"].unlessNull))
            }
            if let error = step.error { Output.line("  error: " + error.replacingOccurrences(of: "\n", with: "\n    ")) }
            if let compensation = step.compensation { Output.line("  compensation: \(compensation)") }
        }
    }
}

extension String {
    /// Safe as one path segment or one query value of a URL.
    var percentEscaped: String {
        addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? self
    }
}
