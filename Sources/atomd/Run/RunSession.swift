import AtomdEngine
import AtomdJournal
import AtomdSpec
import Foundation
import Synchronization

/// One run in the foreground, new or resumed: live progress, Ctrl-C to
/// cancel, the summary, and the exit code of the outcome.
struct RunSession {
    let job: Job
    let label: String
    let home: String
    let registry: AtomRegistry
    let journal: any JournalStore
    let json: Bool

    /// `begin` starts or resumes the run on the engine it is given.
    /// `unstarted`: the run `createRun` just recorded, closed again if it
    /// cannot start; nil when resuming.
    func execute(unstarted: String? = nil, _ begin: (Engine) throws(RunSetupError) -> RunHandle) async throws -> Never {
        let progress = RunProgressStyle.make(json: json, job: job)
        // Decisions for a paused run come through the agent's control API;
        // in the foreground, say what the operator can do now.
        let pauseHint = EventCallback { event in
            guard event.kind == .run(.paused) else { return }
            Output.error("run paused: \(event.detail ?? "waiting for the operator"). Ctrl-C compensates and stops;"
                         + " retry and skip arrive with the agent's control API")
        }
        let engine = Engine(registry: registry, journal: journal, listeners: [progress, pauseHint])
        let started = StartedRun()
        let interrupts = InterruptHandler(
            first: {
                Output.error("\ncancelling: running steps are cancelled, then what was done is reverted (Ctrl-C again to stop at once)")
                started.cancel()
            },
            second: { [home] in
                let resume = started.runID.map { "`atomd resume \($0) --home \(home)` finishes the run from its journal" }
                Output.error("\nstopped at once: nothing was reverted; " + (resume ?? "the run had not started"))
                Foundation.exit(AtomdExit.compensationFailed.rawValue)
            })
        let handle: RunHandle
        do {
            handle = try begin(engine)
        } catch {
            interrupts.stop()
            Output.error("\(label): error: \(error)")
            if let unstarted {
                do {
                    try await journal.closeUnstarted(unstarted, reason: "\(error)")
                } catch {
                    Output.error("error: run \(unstarted) stays open in the journal: \(error)")
                }
            }
            throw AtomdExit.usage.code
        }
        started.set(handle)
        progress.started()
        let report = await handle.wait()
        interrupts.stop()
        progress.finished(report)
        throw AtomdExit(rawValue: report.status.exitCode)?.code ?? AtomdExit.unavailable.code
    }
}

/// The run a Ctrl-C applies to: one that comes before the run has started
/// cancels it as soon as it has.
private final class StartedRun: Sendable {
    private let state = Mutex<(handle: RunHandle?, cancelled: Bool)>((nil, false))

    var runID: String? { state.withLock { $0.handle?.runID } }

    func set(_ handle: RunHandle) {
        let cancelled = state.withLock { state in
            state.handle = handle
            return state.cancelled
        }
        if cancelled { Task { await handle.cancel() } }
    }

    func cancel() {
        let handle = state.withLock { state in
            state.cancelled = true
            return state.handle
        }
        if let handle { Task { await handle.cancel() } }
    }
}
