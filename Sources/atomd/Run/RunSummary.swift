import AtomdEngine

/// The end of `atomd run`: the outcome, every compensation action, and what
/// is left behind.
struct RunSummary {
    let report: RunReport

    func print() {
        Output.line("run \(report.runID) (\(report.job)): \(report.status.rawValue) — \(verdict)")
        let compensated = report.steps.filter { $0.compensation != nil }
        if !compensated.isEmpty {
            Output.line("compensation:")
            for step in compensated.sorted(by: { ($0.finishedAt ?? .distantPast) > ($1.finishedAt ?? .distantPast) }) {
                Output.line("  \(step.path): \(step.compensation ?? "")")
            }
        }
        // Every step that failed, whatever compensation did with it since:
        // a failed step that was itself reverted failed all the same.
        let failures = report.steps.filter { $0.error != nil && $0.status != .succeeded && $0.status != .skipped }
        if !failures.isEmpty {
            Output.line("errors:")
            for step in failures { Output.line("  \(step.path) (\(step.status.rawValue)): \(step.error ?? "")") }
        }
        let left = leftBehind
        if !left.isEmpty {
            Output.line("left behind (check these by hand):")
            for step in left { Output.line("  \(step.path) (\(step.status.rawValue))") }
        }
        if let error = report.error { Output.line("error: \(error)") }
    }

    private var verdict: String {
        switch report.status {
        case .succeeded: "every step done"
        case .reverted: "a step failed; everything done was reverted"
        case .cancelled: "cancelled; everything done was reverted"
        case .revertFailed: "compensation failed; some changes are left behind"
        case .failed: "a step failed; on_failure: fail left every change in place"
        default: "the run stopped early"
        }
    }

    /// Steps whose effect may still be in the world after a run that did not succeed.
    private var leftBehind: [StepRecord] {
        guard report.status == .revertFailed || report.status == .failed else { return [] }
        // `finally` steps run after compensation by design: never "left behind".
        let finally = Set(report.finally)
        return report.steps.filter {
            ($0.effect == .made || $0.effect == .possible) && $0.status != .reverted && !finally.contains($0.id)
        }
    }
}
