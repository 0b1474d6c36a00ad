import AtomdEngine
import Foundation

/// One rehearsal: the failure injected, what compensation did, and what it
/// left behind.
struct RehearsalRow: Codable {
    var step: String
    var when: InjectedFailure.When
    var run_id: String
    /// The run's end: `reverted` when compensation ran to its end.
    var status: RunStatus
    /// Steps reverted, in the order their reverts ended.
    var reverted: [String]
    var seconds: Double
    /// Everything that differs from what the probes saw before the run,
    /// and every revert that failed.
    var left_behind: [String]
    /// Checks that could not tell whether their step's effect is gone, with
    /// why: not counted as left behind, and not proof that nothing is.
    var unknown: [String] = []
    /// The run never came to the injected step (a group around it was
    /// skipped): the job ran on without the failure.
    var not_reached: Bool
    /// `--crash`: the journal writes it was killed at and recovered from.
    var crash_points: Int? = nil

    var passed: Bool { status == .reverted && left_behind.isEmpty }

    var label: String { Self.label(InjectedFailure(step: step, when: when)) }

    static func label(_ point: InjectedFailure) -> String {
        "\(point.when == .after ? "after" : "instead of") \(point.step)"
    }
}

/// What `atomd rehearse --json` prints.
struct RehearsalSummary: Encodable {
    var job: String
    var warnings: [String]
    var rehearsals: [RehearsalRow]
    /// Injection points not rehearsed: an earlier rehearsal left the world changed.
    var not_run: [String]
    var passed: Bool

    /// The report on a terminal or in a log: one row per injection point,
    /// then what each failed one left behind, then the verdict.
    func printText() {
        var rows = [["INJECTED", "OUTCOME", "REVERTED (in order)", "TIME"]]
        for row in rehearsals {
            let crashes = row.crash_points.map { ", \($0) crashes" } ?? ""
            let outcome = (row.passed ? "ok" : row.not_reached ? "NOT REACHED" : "LEFT BEHIND") + (row.passed ? crashes : "")
            rows.append([row.label, outcome, row.reverted.isEmpty ? "-" : row.reverted.joined(separator: ", "),
                         String(format: "%.2fs", row.seconds)])
        }
        TimeText.printTable(rows)
        for row in rehearsals where !row.passed {
            Output.line("")
            Output.line("\(row.label) (run \(row.run_id), \(row.status.rawValue)):")
            if row.not_reached { Output.line("  the run never came to \(row.step), so the job ran on without the failure") }
            for text in row.left_behind { Output.line("  \(text)") }
        }
        let unknown = rehearsals.filter { !$0.unknown.isEmpty }
        if !unknown.isEmpty {
            Output.line("")
            Output.line("could not tell (not counted as left behind; give these steps a check that can):")
            for row in unknown { for text in row.unknown { Output.line("  \(row.label): \(text)") } }
        }
        if !not_run.isEmpty {
            Output.line("")
            Output.line("not run, as the world is no longer where it was: " + not_run.joined(separator: ", "))
        }
        Output.line("")
        let failed = rehearsals.filter { !$0.passed }.count
        Output.line(passed ? "verdict: compensation returned the world to where it was in all \(rehearsals.count) rehearsals"
                           : "verdict: \(failed) of \(rehearsals.count) rehearsals run did not end with the world as they found it")
    }
}
