import AtomdEngine
import AtomdJournal
import AtomdSpec
import Foundation

/// Operator rollback through the agent (DESIGN.md section 4).
extension Agent {
    /// `atomd rollback RUN --retry`: a run that ended `revert_failed` runs
    /// again in this agent, from its journaled job text, as a claimed file:
    /// the journal ties the run to a name in processing/ before the file is
    /// written there, so a restart at any point either resumes it or finds
    /// it as it was (filed failed, not reopened). Returns the file.
    /// `caller` must be allowed to steer the run, as for a live run.
    func retryRevert(_ runID: String, vars: [String: JSONValue] = [:], caller: PeerCredentials) async throws(APIError) -> String {
        let run: JournaledRun?, history: [EngineEvent]
        do {
            run = try await journal.run(runID)
            history = try await journal.events(of: runID)
        } catch {
            throw APIError(.internalServerError, "the journal cannot be read: \(error)")
        }
        guard let run else { throw APIError(.notFound, "no run \(runID)", hint: "GET /runs lists the runs") }
        // Whose run it is comes first: its state is no business of others.
        try checkOwnership(caller, steering: runID, submitter: run.submitter)
        guard run.status == .revertFailed, !run.isOpen, handle(runID) == nil else {
            throw APIError(.conflict, "run \(runID) is \(run.status.rawValue)\(run.isOpen ? " and still open" : ""); --retry retries a failed revert",
                           hint: "a run that ended revert_failed can be retried; `atomd show \(runID)` shows the run")
        }
        let label = (run.jobFile as NSString).lastPathComponent
        var job: Job
        do {
            job = try await Self.load(bytes: Array(run.jobText.utf8), file: label)
        } catch {
            throw APIError(.unprocessableContent, "the journaled job no longer loads: \(error.diagnostics.first?.description ?? "")")
        }
        if let onFailure = run.onFailure { job.onFailure = onFailure }
        if let unknown = vars.keys.sorted().first(where: { job.vars[$0] == nil }) {
            throw APIError(.conflict, "--var \(unknown): the job declares no variable '\(unknown)'",
                           hint: "declared: \(job.vars.keys.sorted().joined(separator: ", "))")
        }
        try await checkAdmission(caller, steering: runID, job: job)
        let name = SpoolNames.isJob(label) ? label : "retried.yaml"
        guard let file = (0..<10_000).lazy.map({ Spool.numbered(name, $0) }).first(where: {
            !FileManager.default.fileExists(atPath: settings.spool.processing + "/" + $0)
        }) else {
            throw APIError(.conflict, "processing/ holds 10,000 jobs named like \(name)", hint: "clear out old jobs")
        }
        do {
            try await journal.holdSpoolFile(file, for: runID)
            _ = try SpoolDrop.write(Array(run.jobText.utf8), named: file, intoDirectory: settings.spool.processing, numbering: false)
        } catch {
            throw APIError(.internalServerError, "cannot put the run back into processing/: \(error)")
        }
        guard let (registry, secrets) = await prepare(job, file: file, runID: runID, limits: limits(for: run.submitter)) else {
            throw APIError(.unprocessableContent, "the run cannot be prepared again; failed/\(file).error.json says why")
        }
        await launch(file, runID: runID, job: job, submitter: run.submitter, resumed: true) { engine throws(RunSetupError) in
            try engine.retryRevert(RunRequest(job: job, runID: runID, vars: run.vars, secrets: secrets), history: history, setting: vars)
        } registry: { registry }
        guard handle(runID) != nil else {
            throw APIError(.conflict, "run \(runID) could not be reopened; failed/\(file).error.json says why")
        }
        log.notice("run \(runID): the operator retries its failed revert (as processing/\(file))")
        return file
    }
}
