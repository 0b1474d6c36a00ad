import AtomdEngine
import AtomdJournal
import AtomdPlugins
import AtomdSpec
import Foundation

extension Agent {
    /// Starts queued entries while slots are free, one at a time so that
    /// runs start in the order their jobs arrived.
    func pump() async {
        guard !pumping else { return }
        pumping = true
        defer { pumping = false }
        while accepting, let entry = queue.next(running: live.count) {
            switch entry {
            case .start(let file): await start(file)
            case .resume(let file, let runID): await resume(file, runID: runID)
            }
            updateStatus()
        }
    }

    /// Parses and validates a job on a thread of its own: a 1 MiB job takes
    /// a while, and the agent's actor (the control API, claims, signals)
    /// and the cooperative pool must not wait on it.
    static func load(bytes: [UInt8], file: String) async throws(SpecErrors) -> Job {
        try await OwnThread.run { Result { () throws(SpecErrors) in try JobLoader.load(bytes: bytes, file: file) } }.get()
    }

    private func start(_ file: String) async {
        let path = settings.spool.processing + "/" + file
        let bytes: [UInt8], submission: SpoolSubmission?
        var job: Job
        do {
            bytes = try JobLoader.read(path)
        } catch {
            refuseUnlessShort(.start(file: file), SpoolReport(file: file, diagnostics: error.diagnostics))
            return
        }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            refuseUnlessShort(.start(file: file), SpoolReport(file: file, message: "cannot be examined: \(String(cString: strerror(errno)))"))
            return
        }
        do {
            submission = try SpoolSubmission.read(beside: file, in: settings.spool.processing, owner: info.st_uid)
        } catch {
            refuseUnlessShort(.start(file: file), SpoolReport(file: file, message: error.description))
            return
        }
        if let submission, !submission.belongs(to: bytes) {
            // Its own job was removed or replaced by hand: neither its values
            // nor its submitter are this job's, and running without them
            // would run it with values nobody chose.
            refuse(file, SpoolReport(file: file, message: "the submission beside it (values, submitter) was made for another job text",
                                     hint: "submit the job again (`atomd submit`); the stale submission is removed"))
            return
        }
        // The claim let only files of root and the agent's user through; one
        // of them wrote the sidecar, which names the API's caller.
        let submitter = submission?.submitter ?? info.st_uid
        let limits = limits(for: submitter)
        do {
            job = try await JobAdmission.admitted(name: file, bytes: bytes, limits: limits, vars: submission?.vars ?? [:])
        } catch {
            refuse(file, error.report(for: file))
            return
        }
        if let onFailure = submission?.onFailure { job.onFailure = onFailure }
        guard let (registry, secrets) = await prepare(job, file: file, runID: nil, limits: limits) else { return }
        let runID = RunID.make()
        do {
            try await journal.createRun(NewRun(id: runID, jobName: job.name, jobFile: path,
                                               jobText: String(decoding: bytes, as: UTF8.self), vars: submission?.vars ?? [:],
                                               spoolFile: file, submission: submission?.token, onFailure: submission?.onFailure,
                                               submitter: submitter))
        } catch {
            // Never dropped: it stays claimed in processing/ and is tried again.
            retryLater(.start(file: file), because: "the journal cannot record a new run (\(error))")
            return
        }
        await launch(file, runID: runID, job: job, submitter: submitter) { [job] engine throws(RunSetupError) in
            try engine.start(RunRequest(job: job, runID: runID, vars: submission?.vars ?? [:], secrets: secrets))
        } registry: { registry }
    }

    private func resume(_ file: String, runID: String) async {
        let run: JournaledRun?, history: [EngineEvent]
        do {
            run = try await journal.run(runID)
            history = try await journal.events(of: runID)
        } catch {
            retryLater(.resume(file: file, runID: runID), because: "cannot read run \(runID) from the journal (\(error))")
            return
        }
        guard let run else { return }
        guard run.isOpen else {
            await fileEnded(file, runID: runID, status: run.status, reason: run.detail)
            return
        }
        var job: Job
        do {
            job = try await Self.load(bytes: Array(run.jobText.utf8), file: file)
        } catch {
            refuse(file, SpoolReport(file: file, diagnostics: error.diagnostics))
            return
        }
        if let onFailure = run.onFailure { job.onFailure = onFailure }
        // Resuming starts work again: under the limits of today's policy.
        let limits = limits(for: run.submitter)
        do {
            try JobAdmission.check(job, file: file, limits: limits)
        } catch {
            let problems = error.diagnostics.map(\.description).joined(separator: "; ")
            log.error("run \(runID) (\(file)) is not resumed: \(error.message) for its submitter \(UserDatabase.name(of: run.submitter)): \(problems); it stays open in processing/ until the policy allows it again")
            return
        }
        guard let (registry, secrets) = await prepare(job, file: file, runID: runID, limits: limits) else { return }
        guard let history = await guardResumption(file, runID: runID, history: history) else { return }
        await launch(file, runID: runID, job: job, submitter: run.submitter, resumed: true) { engine throws(RunSetupError) in
            try engine.resume(RunRequest(job: job, runID: runID, vars: run.vars,
                                         secrets: secrets), history: history)
        } registry: { registry }
        // An operator released a parked run: it comes back paused, and goes
        // on now, or is cancelled (and compensated).
        switch unparking.removeValue(forKey: runID) {
        case true?: await live[runID]?.handle.cancel()
        // Refused only while an unfinished rollback goes on, which then
        // decides itself whether the run pauses or goes on.
        case false?: try? await live[runID]?.handle.resume()
        case nil: break
        }
    }

    /// The history to resume the run with, the "resuming" marker journaled
    /// at its end (ResumeGuard); nil when the run is parked instead.
    private func guardResumption(_ file: String, runID: String, history: [EngineEvent]) async -> [EngineEvent]? {
        switch ResumeGuard.verdict(history) {
        case .parked:
            log.warning("run \(runID) (\(file)) is parked: the agent died while resuming it; `atomd resume \(runID)` tries again")
            parked.insert(runID)
            return nil
        case .park(let crashed):
            let parking = ResumeGuard.parking(runID: runID, after: history, crashed: crashed)
            do {
                try await journal.record([parking])
            } catch {
                // Not resumed either way: resuming is what killed the agent.
                log.error("run \(runID): cannot journal that it is parked (\(error)); it is not resumed")
            }
            log.error("run \(runID) (\(file)): \(parking.detail ?? "parked")")
            parked.insert(runID)
            return nil
        case .resume(let crashed):
            // A run paused by its operator does no work when resumed: not
            // counted (an unparked run comes back paused, then is resumed,
            // and counts again from its next start).
            if ResumeGuard.staysPaused(history) { return history }
            let marker = ResumeGuard.marker(runID: runID, after: history, crashed: crashed)
            do {
                try await journal.record([marker])
            } catch {
                retryLater(.resume(file: file, runID: runID), because: "cannot journal the resumption of run \(runID) (\(error))")
                return nil
            }
            if crashed > 0 { log.warning("run \(runID) (\(file)): \(marker.detail ?? "")") }
            ResumeGuard.crashIfArmed()
            return history + [marker]
        }
    }

    /// The atoms and secrets a run needs; a job that cannot have them is
    /// filed in failed/ with why.
    func prepare(_ job: Job, file: String, runID: String?, limits: RunAsPolicy?) async -> (AtomRegistry, [String: String])? {
        let secrets: [String: String]
        do {
            secrets = try await OwnThread.run { Result { () throws(SecretResolver.Failure) in try SecretResolver.resolve(job.secrets, limits: limits) } }.get()
        } catch {
            refuse(file, SpoolReport(file: file, message: error.description,
                                     hint: "give the agent the variable or file (systemd: Environment=, EnvironmentFile= or LoadCredential=)",
                                     runID: runID))
            return nil
        }
        do {
            return (try await AtomSet.registry(logs: settings.logs, for: job, catalog: catalog), secrets)
        } catch {
            refuse(file, SpoolReport(file: file, message: "plugin " + error.errors.map(\.description).joined(separator: "; "),
                                     hint: "`atomd plugins` lists what the agent can load", runID: runID))
            return nil
        }
    }

    /// What `api.run_as` allows a job of `submitter`: nil (anything) for
    /// root and the agent's user.
    func limits(for submitter: uid_t) -> RunAsPolicy? {
        accessPolicy.ownsAgent(submitter) ? nil : settings.runAs
    }

    func launch(_ file: String, runID: String, job: Job, submitter: uid_t, resumed: Bool = false, _ begin: (Engine) throws(RunSetupError) -> RunHandle,
                        registry: () -> AtomRegistry) async {
        let engine = Engine(registry: registry(), journal: journal, locks: locks, listeners: [metrics.listener(for: job), events])
        let handle: RunHandle
        do {
            handle = try begin(engine)
        } catch {
            // A new run that cannot start is closed, not left open for ever.
            if !resumed {
                do {
                    try await journal.closeUnstarted(runID, reason: error.message)
                } catch {
                    log.error("run \(runID): cannot journal that it did not start (\(error)); it stays open")
                }
            }
            refuse(file, SpoolReport(file: file, message: error.message, hint: error.hint, runID: runID))
            return
        }
        if let claimed = claimedAt.removeValue(forKey: file) { metrics.observeQueueWait(ContinuousClock.now - claimed) }
        live[runID] = LiveRun(runID: runID, file: file, job: job, submitter: submitter, handle: handle, catalog: catalog, started: .now)
        log.info("\(file): run \(runID) \(resumed ? "resumed" : "started")")
        Task {
            let report = await handle.wait()
            await self.ended(runID, report)
        }
    }

    private func ended(_ runID: String, _ report: RunReport) async {
        guard let run = live.removeValue(forKey: runID) else { return }
        if run.catalog !== catalog, !live.values.contains(where: { $0.catalog === run.catalog }) { run.catalog.shutDown() }
        guard !abandoned.contains(runID) else { return }
        // The journal failed (PostgreSQL away past journal.postgres.outage):
        // the run stopped where its last record says, as on a crash, and
        // is resumed from there once the journal answers again.
        if let failure = report.error {
            retryLater(.resume(file: run.file, runID: runID), because: "run \(runID) stopped: \(failure); it resumes once the journal is back")
            updateStatus()
            await pump()
            return
        }
        let reason = report.steps.first { $0.error != nil }.map { "step '\($0.id)' \($0.status.rawValue): \($0.error ?? "")" }
        await fileEnded(run.file, runID: runID, status: report.status, reason: reason)
        updateStatus()
        await pump()
    }
}

/// Parked runs (ResumeGuard) come back only when an operator asks.
extension Agent {
    /// `atomd resume RUN` (or `atomd cancel RUN`: `cancel`) on a run parked
    /// in this agent: journals that it was released and resumes it (or
    /// cancels it, which compensates it). False when it is not parked here.
    func unpark(_ runID: String, caller: PeerCredentials, cancel: Bool = false) async throws(APIError) -> Bool {
        guard parked.contains(runID), live[runID] == nil else { return false }
        let run: JournaledRun?, history: [EngineEvent]
        do {
            run = try await journal.run(runID)
            history = try await journal.events(of: runID)
        } catch {
            throw APIError(.internalServerError, "cannot read run \(runID) from the journal: \(error)")
        }
        guard let run, let file = run.spoolFile else { return false }
        let job: Job
        do {
            job = try await Self.load(bytes: Array(run.jobText.utf8), file: file)
        } catch {
            throw APIError(.conflict, "run \(runID)'s job no longer loads: \(error.diagnostics.map(\.description).joined(separator: "; "))")
        }
        try await authorize(caller, steering: runID, submitter: run.submitter, job: job)
        do {
            try await journal.record([ResumeGuard.unparking(runID: runID, after: history, by: UserDatabase.name(of: caller.uid))])
        } catch {
            throw APIError(.internalServerError, "cannot journal that run \(runID) is resumed: \(error)")
        }
        parked.remove(runID)
        unparking[runID] = cancel
        log.notice("run \(runID) (\(file)): \(UserDatabase.name(of: caller.uid)) \(cancel ? "cancels" : "resumes") the parked run")
        queue.append(.resume(file: file, runID: runID))
        await pump()
        return true
    }
}

/// A claimed job is never dropped on an error of the agent's own (issue 31:
/// with its descriptors used up, a claimed job stayed in processing/ until
/// a restart): it is started again a moment later, or filed with its reason.
extension Agent {
    static let retryDelay = Duration.seconds(1)

    /// Queues `entry` again after `retryDelay`. The file stays in
    /// processing/, so if the agent stops first the next start takes it up:
    /// the delayed task may be lost without losing the job.
    func retryLater(_ entry: RunQueue.Entry, because reason: String) {
        log.warning("\(entry.file): \(reason); it stays claimed in processing/ and is tried again in \(Self.retryDelay)")
        if !deferred.contains(entry) { deferred.append(entry) }
        guard !retryScheduled else { return }
        retryScheduled = true
        Task { [weak self] in
            try? await Task.sleep(for: Self.retryDelay)
            await self?.retryDeferred()
        }
    }

    /// Claims what waits in incoming/ again later: a claim that failed left
    /// its job there (with its sidecar), and no new event may come for it.
    /// The delay doubles while claims keep failing, up to a minute.
    func claimAgainLater(_ name: String, because error: SpoolError) {
        if !claimRetryScheduled {
            claimRetryDelay = claimRetryDelay.map { min($0 * 2, .seconds(60)) } ?? Self.retryDelay
            claimRetryScheduled = true
            let delay = claimRetryDelay ?? Self.retryDelay
            Task { [weak self] in
                try? await Task.sleep(for: delay)
                await self?.claimAgain()
            }
        }
        log.error("cannot claim \(name): \(error); it stays in incoming/ and is claimed again in \(claimRetryDelay ?? Self.retryDelay)")
    }

    private func claimAgain() async {
        claimRetryScheduled = false
        guard accepting else { return }
        let failures = claimFailures
        claimWaiting()
        // Back to the shortest delay only once a whole pass claimed
        // everything: other jobs claimed meanwhile say nothing of this one.
        if claimFailures == failures { claimRetryDelay = nil }
        await pump()
    }

    private func retryDeferred() async {
        retryScheduled = false
        guard accepting else { return }
        let entries = deferred
        deferred = []
        for entry in entries { queue.append(entry) }
        await pump()
    }

    /// A job that cannot be read while descriptors are short is not the
    /// job's fault: it waits instead of being filed as failed.
    func refuseUnlessShort(_ entry: RunQueue.Entry, _ report: SpoolReport) {
        if DescriptorBudget.free() < DescriptorBudget.reserve / 4 {
            retryLater(entry, because: "\(report.message) while the agent is short of file descriptors")
        } else {
            refuse(entry.file, report)
        }
    }
}
