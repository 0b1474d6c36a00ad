import AtomdEngine
import AtomdJournal
import AtomdSpec
import Foundation

/// One run in the foreground, new or resumed: live progress, Ctrl-C to
/// cancel, the summary, and the exit code of the outcome.
struct RunSession {
    let job: Job
    let label: String
    let home: String
    let registry: AtomRegistry
    let journal: DurableJournal
    let json: Bool

    /// `begin` starts or resumes the run on the engine it is given.
    func execute(_ begin: (Engine) throws(RunSetupError) -> RunHandle) async throws -> Never {
        let progress = RunProgressStyle.make(json: json, job: job)
        // Decisions for a paused run come through the agent's control API;
        // in the foreground, say what the operator can do now.
        let pauseHint = EventCallback { event in
            guard event.kind == .run(.paused) else { return }
            Output.error("run paused: \(event.detail ?? "waiting for the operator"). Ctrl-C compensates and stops;"
                         + " retry and skip arrive with the agent's control API")
        }
        let engine = Engine(registry: registry, journal: journal, listeners: [progress, pauseHint])
        let handle: RunHandle
        do {
            handle = try begin(engine)
        } catch {
            Output.error("\(label): error: \(error)")
            throw AtomdExit.usage.code
        }
        let interrupts = InterruptHandler(
            first: {
                Output.error("\ncancelling: running steps are cancelled, then what was done is reverted (Ctrl-C again to stop at once)")
                Task { await handle.cancel() }
            },
            second: { [home] in
                Output.error("\nstopped at once: nothing was reverted; `atomd resume \(handle.runID) --home \(home)` "
                             + "finishes the run from its journal")
                Foundation.exit(AtomdExit.compensationFailed.rawValue)
            })
        progress.started()
        let report = await handle.wait()
        interrupts.stop()
        progress.finished(report)
        throw AtomdExit(rawValue: report.status.exitCode)?.code ?? AtomdExit.unavailable.code
    }
}
