import ArgumentParser
import AtomdAgent
import AtomdEngine
import AtomdSpec
import Foundation

/// `atomd submit --wait`: finds the run of a submission and follows its
/// journaled events until it is closed. It asks the agent again every
/// `interval` rather than holding an event stream open: the CLI's client
/// reads whole answers, and a run paused for an operator may take days.
struct SubmitWait {
    let client: AgentClient
    let token: String
    let json: Bool
    var interval: Duration = .milliseconds(250)

    /// The fields of an event this command prints.
    private struct Event: Decodable {
        var sequence: Int
        var kind: String
        var status: String?
        var step: String?
        var path: String?
        var attempt: Int?
        var detail: String?
        var data: JSONValue?
    }

    /// What `--json` prints last.
    private struct Outcome: Encodable {
        var run_id: String
        var status: RunStatus
        var exit_code: Int32
    }

    /// Follows the run to its end; throws the exit code it ended with.
    func follow() async throws -> Never {
        let runID = try await claimedRun()
        if !json { Output.line("run \(runID): following (Ctrl-C stops following, not the run)") }
        var after = 0, seen = Seen()
        while true {
            let lines = try await get("/runs/\(runID.percentEscaped)/events?follow=false&after=\(after)")
            for data in Self.eventData(lines) {
                guard let event = try? client.decode(Event.self, from: Array(data.utf8)) else { continue }
                after = max(after, event.sequence)
                if json { Output.line(data) } else { print(event, run: runID, seen: &seen) }
                if event.kind == "closed" { try await finish(runID) }
            }
            try await Task.sleep(for: interval)
        }
    }

    /// The run the agent made of the submission, once it has claimed it.
    private func claimedRun() async throws -> String {
        while true {
            let list = try await get("/runs?submission=\(token.percentEscaped)")
            let runs = try client.decode(RunList.self, from: list)
            if let run = runs.runs.first { return run.id }
            if let refused = runs.refused {
                Output.error("error: the agent refused \(refused.file): \(refused.message)" + (refused.hint.map { " (\($0))" } ?? ""))
                for entry in refused.errors.dropFirst() { Output.error("  \(entry.line ?? 0):\(entry.column ?? 0): \(entry.message)") }
                throw AtomdExit.usage.code
            }
            try await Task.sleep(for: interval)
        }
    }

    private func finish(_ runID: String) async throws -> Never {
        let reply = try await get("/runs/\(runID.percentEscaped)")
        let status = try client.decode(RunDetail.self, from: reply).run.status
        if json {
            try Output.jsonLine(Outcome(run_id: runID, status: status, exit_code: status.exitCode))
        } else {
            Output.line("run \(runID) \(status.rawValue) (exit \(status.exitCode))")
        }
        throw ExitCode(status.exitCode)
    }

    /// What the events so far say about the run, for the hint at a pause.
    private struct Seen {
        var paused = false
        /// The step that failed last and has not run again since.
        var failed: String?
    }

    private func print(_ event: Event, run runID: String, seen: inout Seen) {
        switch event.kind {
        case "step":
            let attempt = (event.attempt ?? 1) > 1 ? " (attempt \(event.attempt ?? 1))" : ""
            let detail = event.detail.map { ": \($0)" } ?? ""
            let step = event.path ?? event.step ?? "?"
            Output.line("  \(step)  \(event.status ?? "?")\(attempt)\(detail)")
            if event.status == StepStatus.failed.rawValue { seen.failed = step }
            if event.status == StepStatus.running.rawValue || event.status == StepStatus.pending.rawValue, seen.failed == step {
                seen.failed = nil
            }
        case "run":
            Output.line("run \(event.status ?? "?")" + (event.detail.map { ": \($0)" } ?? ""))
            let paused = event.status == RunStatus.paused.rawValue
            if paused, !seen.paused {
                let goOn = seen.failed.map { "`atomd retry \(runID) \($0)` (or `skip`)" } ?? "`atomd resume \(runID)`"
                Output.line("  waiting for the operator (in another terminal): \(goOn); `atomd rollback \(runID) --targets`, "
                            + "`atomd set \(runID) --var NAME=VALUE`, `atomd revert \(runID)`")
            }
            seen.paused = paused
        // A step's process group is a record for recovery and `atomd show`,
        // not news for someone following the run.
        case "note" where (event.data?["process_group"] ?? .null) == .null:
            Output.line("  " + (event.path.map { $0 + "  " } ?? "") + "note: \(event.detail ?? "")")
        default:
            break
        }
    }

    /// The `data:` lines of a server-sent event stream.
    static func eventData(_ bytes: [UInt8]) -> [String] {
        String(decoding: bytes, as: UTF8.self).split(separator: "\n").compactMap { line in
            line.hasPrefix("data: ") ? String(line.dropFirst("data: ".count)) : nil
        }
    }

    /// One GET; a failure prints why and exits 2 or 4.
    private func get(_ path: String) async throws -> [UInt8] {
        do {
            return try await client.get(path)
        } catch {
            throw error.exit
        }
    }
}
