import ArgumentParser
import AtomdEngine
import AtomdJournal
import Foundation

struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List runs from the journal, newest first.",
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

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let journal = try homeOptions.journal(creating: false)
        let runs: [JournaledRun]
        do {
            runs = try journal.runs(status: status, limit: limit)
        } catch {
            Output.error("error: \(error)")
            throw AtomdExit.unavailable.code
        }
        if output.json {
            try Output.json(runs.map(RunListing.init))
            return
        }
        guard !runs.isEmpty else {
            Output.line("no runs\(status.map { " with status \($0.rawValue)" } ?? "") in \(journal.path)")
            return
        }
        var rows = [["RUN", "JOB", "STATUS", "STARTED (UTC)", "DURATION"]]
        for run in runs {
            rows.append([run.id, run.jobName, run.status.rawValue + (run.isOpen && run.status.isFinal ? " (finally pending)" : ""),
                         run.startedAt.map(TimeText.utc) ?? "-",
                         TimeText.duration(from: run.startedAt, to: run.finishedAt)])
        }
        TimeText.printTable(rows)
    }
}

/// What `atomd runs --json` prints for each run (the job text stays out).
struct RunListing: Encodable {
    var id: String
    var job: String
    var job_file: String
    var status: RunStatus
    var open: Bool
    var created_at: Date
    var started_at: Date?
    var finished_at: Date?
    var duration_seconds: Double?

    init(_ run: JournaledRun) {
        id = run.id
        job = run.jobName
        job_file = run.jobFile
        status = run.status
        open = run.isOpen
        created_at = run.createdAt
        started_at = run.startedAt
        finished_at = run.finishedAt
        duration_seconds = run.startedAt.map { ((run.finishedAt ?? Date()).timeIntervalSince($0) * 1000).rounded() / 1000 }
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
