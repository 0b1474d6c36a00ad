import ArgumentParser
import AtomdEngine
import AtomdAgent
import AtomdJournal
import Foundation

struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List runs, newest first: from the running agent, else from the journal.",
        discussion: """
            Columns: run id, job, status, start time (UTC), duration. A run whose status is not \
            final (running, paused, reverting) and that no atomd is running was interrupted: \
            `atomd resume RUN` finishes it.
            """
    )

    @Option(help: ArgumentHelp("Only runs in this state.", valueName: "status"))
    var status: RunStatus?

    @Option(help: ArgumentHelp("At most this many runs.", valueName: "n"))
    var limit = 20

    @OptionGroup var homeOptions: HomeOptions

    @OptionGroup var socketOption: SocketOption

    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard RunList.limits.contains(limit) else {
            throw ValidationError("--limit must be from \(RunList.limits.lowerBound) to \(RunList.limits.upperBound)")
        }
    }

    func run() async throws {
        let runs: [RunListing], place: String
        let client = AgentClient(socket: socketOption.path(home: homeOptions.home))
        do {
            let query = "/runs?limit=\(limit)" + (status.map { "&status=\($0.rawValue)" } ?? "")
            runs = try client.decode(RunList.self, from: try await client.get(query)).runs
            place = "the agent"
        } catch AgentClient.Failure.unavailable(let reason) {
            Output.error("note: \(reason); reading the journal instead")
            let journal = try await homeOptions.journal(creating: false)
            do {
                runs = try await journal.runs(status: status, limit: limit).map(RunListing.init)
            } catch {
                Output.error("error: \(error)")
                throw AtomdExit.unavailable.code
            }
            place = journal.location
        } catch let failure as AgentClient.Failure {
            throw failure.exit
        }
        if output.json {
            try Output.json(runs)
            return
        }
        guard !runs.isEmpty else {
            Output.line("no runs\(status.map { " with status \($0.rawValue)" } ?? "") in \(place)")
            return
        }
        var rows = [["RUN", "JOB", "STATUS", "STARTED (UTC)", "DURATION"]]
        for run in runs {
            rows.append([run.id, run.job + (run.rehearsal.map { " (rehearsal: \($0))" } ?? ""), run.status.rawValue + (run.open && run.status.isFinal ? " (finally pending)" : ""),
                         run.started_at.map(TimeText.utc) ?? "-",
                         TimeText.duration(from: run.started_at, to: run.finished_at)])
        }
        TimeText.printTable(rows)
        // A parked run says why it waits, and what releases it.
        for run in runs where run.status == .paused && run.detail?.hasPrefix("parked") == true {
            Output.line("\(run.id): \(run.detail ?? "")")
        }
    }
}

extension RunStatus: ExpressibleByArgument {}

/// Times and tables as the journal commands print them.
enum TimeText {
    static func utc(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d:%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0,
                      parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0)
    }

    /// `1.234s`, `2m03s`; `-` when it never started. Runs still going count up to now.
    static func duration(from start: Date?, to end: Date?) -> String {
        guard let start else { return "-" }
        let seconds = (end ?? Date()).timeIntervalSince(start)
        if seconds < 60 { return String(format: "%.3fs", seconds) }
        return String(format: "%dm%02ds", Int(seconds) / 60, Int(seconds) % 60)
    }

    static func printTable(_ rows: [[String]]) {
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            let cells = row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }
            Output.line(cells.joined(separator: "  "))
        }
    }
}
