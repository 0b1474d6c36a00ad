import AtomdEngine
import AtomdSpec
import Foundation
import Glibc

/// A run whose resumption kills the agent must not be resumed blindly on
/// every start: with `Restart=on-failure` the agent would die in a loop and
/// serve nothing else (issue 31: a 900 KB variable formatted 1,300 times).
///
/// Before it resumes a run, the agent journals a "resuming" marker. The
/// run's own progress after it (a step that ends, a run state other than
/// running, an operator's unpark) shows the resumption got past where work
/// starts again, and clears it. So markers with no progress after them are
/// starts that died while resuming: after `crashesBeforeParking` of them
/// the run is parked, paused with the reason, and the agent serves on.
enum ResumeGuard {
    /// Two starts that died resuming the run: one could be a coincidence
    /// (an OOM kill elsewhere, a power cut), two in a row are the run.
    static let crashesBeforeParking = 2

    enum Verdict: Equatable {
        /// Resume it; `crashed` starts died while resuming it before.
        case resume(crashed: Int)
        /// Parked before and not released: leave it paused.
        case parked
        /// Park it now.
        case park(crashed: Int)
    }

    static func verdict(_ history: [EngineEvent]) -> Verdict {
        var crashed = 0
        for event in history.sorted(by: { $0.sequence > $1.sequence }) {
            switch event.kind {
            case .note:
                if event.data?["resuming"].unlessNull != nil { crashed += 1 }
                if event.data?["unparked"].unlessNull != nil { return .resume(crashed: crashed) }
            case .run(.paused) where event.data?["parked"].unlessNull != nil:
                return crashed == 0 ? .parked : .park(crashed: crashed)
            case .run(.running), .step(.running), .log, .progress:
                continue
            case .run, .step, .closed:
                return .resume(crashed: crashed)
            }
            if crashed >= crashesBeforeParking { return .park(crashed: crashed) }
        }
        return crashed >= crashesBeforeParking ? .park(crashed: crashed) : .resume(crashed: crashed)
    }

    /// Whether resuming the run does no work until an operator acts: paused
    /// by an operator before the restart. Such a resumption is not counted.
    static func staysPaused(_ history: [EngineEvent]) -> Bool {
        guard let last = history.filter({ if case .run = $0.kind { true } else { false } }).max(by: { $0.sequence < $1.sequence }) else {
            return false
        }
        return last.kind == .run(.paused) && last.data?["stays_paused"] == .bool(true)
    }

    static func marker(runID: String, after history: [EngineEvent], crashed: Int) -> EngineEvent {
        EngineEvent(sequence: nextSequence(history), runID: runID, kind: .note("the agent resumes the run"), time: Date(),
                    detail: crashed == 0 ? "resuming after a restart"
                        : "resuming after a restart; \(crashed) earlier start(s) died while resuming it",
                    data: .object(["resuming": .integer(Int64(crashed + 1))]))
    }

    static func parking(runID: String, after history: [EngineEvent], crashed: Int) -> EngineEvent {
        let reason = "parked: the agent died \(crashed) times in a row while resuming this run; "
            + "it is not resumed again on its own (`atomd show \(runID)`, then `atomd resume \(runID)`, or `atomd cancel \(runID)` to compensate it)"
        return EngineEvent(sequence: nextSequence(history), runID: runID, kind: .run(.paused), time: Date(), detail: reason,
                           data: .object(["parked": .integer(Int64(crashed)), "stays_paused": .bool(true)]))
    }

    static func unparking(runID: String, after history: [EngineEvent], by user: String) -> EngineEvent {
        EngineEvent(sequence: nextSequence(history), runID: runID, kind: .note("unparked"), time: Date(),
                    detail: "\(user) asked to resume the parked run", data: .object(["unparked": .bool(true)]))
    }

    private static func nextSequence(_ history: [EngineEvent]) -> Int {
        (history.map(\.sequence).max() ?? 0) + 1
    }

    /// Debug builds only: `ATOMD_CRASH_RESUMING=1` kills the agent right
    /// after the marker is journaled, as a run whose resumption crashes
    /// would. The end-to-end test of parking uses it; no variable in a
    /// production agent's environment can make it kill itself.
    static func crashIfArmed() {
        #if DEBUG
        if ProcessInfo.processInfo.environment["ATOMD_CRASH_RESUMING"] == "1" { kill(getpid(), SIGKILL) }
        #endif
    }
}
