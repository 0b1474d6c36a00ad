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
        var after = 0, paused = false
        while true {
            let lines = try await get("/runs/\(runID.percentEscaped)/events?follow=false&after=\(after)")
            for data in Self.eventData(lines) {
                guard let event = try? client.decode(Event.self, from: Array(data.utf8)) else { continue }
                after = max(after, event.sequence)
                if json { Output.line(data) } else { print(event, run: runID, paused: &paused) }
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

    private func print(_ event: Event, run runID: String, paused: inout Bool) {
        switch event.kind {
        case "step":
            let attempt = (event.attempt ?? 1) > 1 ? " (attempt \(event.attempt ?? 1))" : ""
            let detail = event.detail.map { ": \($0)" } ?? ""
            Output.line("  \(event.path ?? event.step ?? "?")  \(event.status ?? "?")\(attempt)\(detail)")
        case "run":
            Output.line("run \(event.status ?? "?")" + (event.detail.map { ": \($0)" } ?? ""))
            if event.status == RunStatus.paused.rawValue, !paused {
                Output.line("  waiting: steer it with `atomd resume \(runID)`, `atomd rollback \(runID) --targets`, "
                            + "`atomd set \(runID) --var …` or `atomd revert \(runID)`")
            }
            paused = event.status == RunStatus.paused.rawValue
        // Notes that carry data are records for recovery and `atomd show`
        // (a process group); the others are written for people.
        case "note" where event.data == nil:
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
