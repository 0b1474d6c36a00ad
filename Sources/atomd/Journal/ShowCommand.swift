import ArgumentParser
import AtomdEngine
import AtomdJournal
import AtomdSpec
import Foundation

struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one run from the journal: every step with its state, attempts, timings, outputs, errors and compensation.",
        discussion: """
            Inputs and outputs are shown as journaled: secret values are replaced by ***. \
            `--json` prints the run and its steps as one object.
            """
    )

    @OptionGroup var selection: RunSelection

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let (journal, run) = try selection.load()
        let steps: [JournaledStep]
        do {
            steps = try journal.steps(of: run.id)
        } catch {
            Output.error("error: \(error)")
            throw AtomdExit.unavailable.code
        }
        if output.json {
            try Output.json(Shown(run: RunListing(run), job_sha256: run.jobSHA256, vars: run.vars, detail: run.detail, steps: steps))
            return
        }
        Output.line("run \(run.id): \(run.status.rawValue)\(run.detail.map { " — \($0)" } ?? "")")
        Output.line("job \(run.jobName) from \(run.jobFile) (sha256 \(run.jobSHA256.prefix(12)))")
        Output.line("started \(run.startedAt.map(TimeText.utc) ?? "-") UTC, took \(TimeText.duration(from: run.startedAt, to: run.finishedAt))"
                    + (run.isOpen ? "; not closed: `atomd resume \(run.id)` finishes it" : ""))
        if !run.vars.isEmpty { Output.line("--var " + run.vars.keys.sorted().map { "\($0)=\(run.vars[$0]?.interpolated ?? "")" }.joined(separator: " ")) }
        for step in steps {
            Output.line()
            Output.line("\(step.path): \(step.status.rawValue), \(step.attempts) attempt\(step.attempts == 1 ? "" : "s"), "
                        + TimeText.duration(from: step.startedAt, to: step.finishedAt))
            if let key = step.idempotencyKey { Output.line("  idempotency key: \(key)") }
            if let group = step.processGroup { Output.line("  process group: \(group)") }
            if let outputs = step.outputs, outputs != .object([:]) { Output.line("  outputs: \(outputs.json)") }
            if let error = step.error { Output.line("  error: " + error.replacingOccurrences(of: "\n", with: "\n    ")) }
            if let compensation = step.compensation { Output.line("  compensation: \(compensation)") }
        }
    }

    struct Shown: Encodable {
        var run: RunListing
        var job_sha256: String
        var vars: [String: JSONValue]
        var detail: String?
        var steps: [JournaledStep]
    }
}
