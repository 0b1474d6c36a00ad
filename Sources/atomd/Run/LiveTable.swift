import AtomdEngine
import AtomdSpec
import Foundation
import Synchronization

/// A table of steps redrawn in place on a terminal: state, attempt, duration
/// and the last log line of each step.
final class LiveTable: RunProgress {
    private struct Row {
        var path: String
        var status = "pending"
        var attempt = 0
        var started: Date?
        var ended: Date?
        var last = ""
    }

    private struct Screen {
        var rows: [Row]
        var index: [String: Int]
        var header = "starting"
        var drawnLines = 0
        var lastDraw = Date.distantPast
        /// After the final draw nothing may move the cursor over the summary.
        var closed = false
    }

    private let screen: Mutex<Screen>
    private let ticker = Mutex<Task<Void, Never>?>(nil)
    private let width: Int

    init(job: Job) {
        var rows: [Row] = []
        var index: [String: Int] = [:]
        func add(_ steps: [Step], prefix: String) {
            for step in steps {
                index[step.id] = rows.count
                rows.append(Row(path: prefix + step.id))
                add(step.group?.steps ?? [], prefix: prefix + step.id + "/")
            }
        }
        add(job.steps + job.finally, prefix: "")
        screen = Mutex(Screen(rows: rows, index: index))
        var size = winsize()
        width = ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 20 ? Int(size.ws_col) : 100
    }

    func started() {
        // Durations tick even when no event arrives.
        ticker.withLock {
            $0 = Task { [weak self] in
                while (try? await Task.sleep(for: .milliseconds(250))) != nil {
                    self?.draw(force: true)
                }
            }
        }
    }

    func receive(_ event: EngineEvent) {
        screen.withLock { screen in
            switch event.kind {
            case .run(let status):
                screen.header = "run \(event.runID): \(status.rawValue)" + (event.detail.map { " — \($0)" } ?? "")
            case .step(let status):
                guard let id = event.stepID, let row = screen.index[id] else { break }
                screen.rows[row].status = status.rawValue
                screen.rows[row].attempt = event.attempt ?? screen.rows[row].attempt
                if status == .running, screen.rows[row].started == nil { screen.rows[row].started = event.time }
                if [.succeeded, .failed, .skipped, .ignored].contains(status) { screen.rows[row].ended = event.time }
                if let detail = event.detail { screen.rows[row].last = detail }
            case .log(let text), .note(let text):
                guard let id = event.stepID, let row = screen.index[id] else { break }
                screen.rows[row].last = text
            case .progress(let fraction, let note):
                guard let id = event.stepID, let row = screen.index[id] else { break }
                screen.rows[row].last = "\(Int(fraction * 100))%" + (note.map { " \($0)" } ?? "")
            case .closed:
                break
            }
        }
        draw(force: false)
    }

    func finished(_ report: RunReport) {
        ticker.withLock {
            $0?.cancel()
            $0 = nil
        }
        draw(force: true)
        screen.withLock { $0.closed = true }
        Output.line()
        RunSummary(report: report).print()
    }

    private func draw(force: Bool) {
        let text: String? = screen.withLock { screen in
            let now = Date()
            guard !screen.closed, force || now.timeIntervalSince(screen.lastDraw) > 0.1 else { return nil }
            screen.lastDraw = now
            var out = screen.drawnLines > 0 ? "\u{1B}[\(screen.drawnLines)A" : ""
            var lines = [screen.header]
            let pathWidth = min(40, max(4, screen.rows.map(\.path.count).max() ?? 4))
            for row in screen.rows {
                let duration = row.started.map { String(format: "%6.1fs", (row.ended ?? now).timeIntervalSince($0)) } ?? "       "
                let attempt = row.attempt > 1 ? "#\(row.attempt)" : "  "
                let line = "  \(row.path.padding(toLength: pathWidth, withPad: " ", startingAt: 0))  "
                    + "\(row.status.padding(toLength: 13, withPad: " ", startingAt: 0)) \(attempt) \(duration)  \(row.last.terminalSafe)"
                lines.append(String(line.prefix(width - 1)))
            }
            for line in lines { out += "\u{1B}[2K" + line + "\n" }
            screen.drawnLines = lines.count
            return out
        }
        if let text { FileHandle.standardOutput.write(Data(text.utf8)) }
    }
}
