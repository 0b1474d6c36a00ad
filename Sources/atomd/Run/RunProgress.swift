import AtomdAgent
import AtomdEngine
import AtomdSpec
import Foundation

/// Shows a run as it happens, then its outcome.
protocol RunProgress: EventListener {
    func started()
    func finished(_ report: RunReport)
}

enum RunProgressStyle {
    /// `--json`: event lines; a terminal: the live table; otherwise plain lines.
    static func make(json: Bool, job: Job) -> any RunProgress {
        if json { return JSONEventStream() }
        if isatty(STDOUT_FILENO) == 1 { return LiveTable(job: job) }
        return PlainProgress()
    }
}

/// `--json`: one JSON object per event, in the shape the control API's
/// event stream sends (one shape for scripts to read), then one summary line.
final class JSONEventStream: RunProgress {
    private let encoder: JSONEncoder = {
        let encoder = APIJSON.encoder()
        encoder.outputFormatting.insert(.withoutEscapingSlashes)
        return encoder
    }()

    func started() {}

    func receive(_ event: EngineEvent) {
        guard let data = try? encoder.encode(APIEvent(event)) else { return }
        Output.line(String(decoding: data, as: UTF8.self))
    }

    struct Summary: Encodable {
        struct Step: Encodable {
            var id: String
            var path: String
            var status: StepStatus
            var attempts: Int
            var compensation: String?
            var error: String?
        }

        var run_id: String
        var status: RunStatus
        var steps: [Step]
    }

    func finished(_ report: RunReport) {
        let summary = Summary(run_id: report.runID, status: report.status, steps: report.steps.map {
            Summary.Step(id: $0.id, path: $0.path, status: $0.status, attempts: $0.attempts,
                         compensation: $0.compensation, error: $0.error)
        })
        guard let data = try? encoder.encode(summary) else { return }
        Output.line(String(decoding: data, as: UTF8.self))
    }
}

/// Not a terminal: one line per transition, for logs and CI.
final class PlainProgress: RunProgress {
    private let clock = ClockFormatter()

    func started() {}

    func receive(_ event: EngineEvent) {
        guard let line = Self.describe(event) else { return }
        Output.line("\(clock.string(event.time))  \(line)")
    }

    static func describe(_ event: EngineEvent) -> String? {
        let detail = event.detail.map { ": \($0)" } ?? ""
        switch event.kind {
        case .run(let status):
            return "run \(event.runID) \(status.rawValue)\(detail)"
        case .step(let status):
            let attempt = status == .running ? " (attempt \(event.attempt ?? 1))" : ""
            return "\(event.stepPath ?? "?") \(status.rawValue)\(attempt)\(detail)"
        case .note(let text):
            // Kept for `atomd show` and recovery; not news on the terminal.
            if event.data?["process_group"] != nil { return nil }
            return "\(event.stepPath ?? "run") note: \(text)"
        case .log(let text):
            return "\(event.stepPath ?? "?") | \(text)"
        case .progress(let fraction, let note):
            return "\(event.stepPath ?? "?") \(Int(fraction * 100))%" + (note.map { " \($0)" } ?? "")
        case .closed:
            return nil
        }
    }

    func finished(_ report: RunReport) {
        Output.line()
        RunSummary(report: report).print()
    }
}

/// `HH:MM:SS.mmm` in local time.
struct ClockFormatter: Sendable {
    func string(_ date: Date) -> String {
        let calendar = Calendar.current
        let parts = calendar.dateComponents([.hour, .minute, .second, .nanosecond], from: date)
        return String(format: "%02d:%02d:%02d.%03d", parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0,
                      (parts.nanosecond ?? 0) / 1_000_000)
    }
}
