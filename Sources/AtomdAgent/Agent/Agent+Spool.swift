import AtomdEngine
import AtomdJournal
import Foundation
import Metrics

extension Agent {
    /// Before anything new is claimed: claimed files whose runs the journal
    /// holds are resumed (still open) or filed (ended); claimed files that
    /// never became a run start first in the queue.
    func recover() async throws(AgentError) {
        let present = spool.claimed()
        var starts: [String] = []
        do {
            try await journal.releaseSpoolFiles(except: Set(present))
            for file in present {
                guard let run = try await journal.run(spoolFile: file) else {
                    starts.append(file)
                    continue
                }
                if run.isOpen {
                    log.notice("resuming run \(run.id) of \(file), cut short by a restart")
                    queue.append(.resume(file: file, runID: run.id))
                } else {
                    await fileEnded(file, runID: run.id, status: run.status, reason: run.detail)
                }
            }
            let foreground = try await journal.openRuns().filter { $0.spoolFile == nil }
            if !foreground.isEmpty {
                let ids = foreground.map(\.id).joined(separator: ", ")
                log.notice("\(foreground.count) unfinished run(s) from `atomd run` are left to `atomd resume`: \(ids)")
            }
        } catch {
            throw AgentError("cannot read the journal: \(error)")
        }
        for file in starts {
            log.notice("\(file) was claimed but had not started before the restart; starting it")
            queue.append(.start(file: file))
        }
    }

    /// Claims every job file waiting in incoming/, oldest first.
    func claimWaiting() {
        do {
            for name in try spool.scan() { claim(name) }
        } catch {
            log.error("cannot scan the spool: \(error)")
        }
    }

    func claim(_ name: String) {
        guard accepting else { return }
        do {
            switch try spool.claim(name) {
            case .claimed(let file):
                log.info("claimed \(name)\(file == name ? "" : " as processing/\(file)")")
                Counter(label: "atomd_spool_claims_total", dimensions: [("outcome", "claimed")]).increment()
                queue.append(.start(file: file))
                claimedAt[file] = .now
                updateStatus()
            case .rejected(let filed):
                log.warning("refused \(name): filed as failed/\(filed) with failed/\(filed).error.json")
                Counter(label: "atomd_spool_claims_total", dimensions: [("outcome", "refused")]).increment()
            case .ignored:
                break
            }
        } catch {
            claimFailures += 1
            guard error.passing else {
                // Trying again would cost the same scan each time, for ever.
                log.error("cannot claim \(name): \(error); it stays in incoming/")
                return
            }
            claimAgainLater(name, because: error)
        }
    }

    /// Files a claimed job whose run has ended, then lets the journal forget
    /// the file (after a crash in between, `recover` does).
    func fileEnded(_ file: String, runID: String?, status: RunStatus, reason: String?) async {
        let failure: SpoolReport? = status == .succeeded ? nil : SpoolReport(
            file: file, message: "run \(runID ?? "-") ended \(status.rawValue)" + (reason.map { ": \($0)" } ?? ""),
            hint: runID.map { "atomd show \($0) tells what happened to each step" }, runID: runID)
        do {
            if let filed = try spool.finish(file, failure: failure) {
                log.info("\(file): \(status.rawValue); filed as \(failure == nil ? "done" : "failed")/\(filed)")
            } else {
                // Never tried again: a later job may take the name in
                // processing/, and must not be filed for this run.
                log.error("\(file): \(status.rawValue), but processing/\(file) is gone (removed by hand?); nothing to file")
            }
        } catch {
            // Resuming a run that has ended files it.
            if let runID { retryLater(.resume(file: file, runID: runID), because: "cannot be filed (\(error))") }
            else { log.error("cannot file \(file): \(error); it stays in processing/ until the next start") }
            return
        }
        if let runID {
            do {
                try await journal.releaseSpoolFile(of: runID)
            } catch {
                log.error("journal: \(error); the next start sets it right")
            }
        }
    }

    /// Files a job that could not start, with why.
    func refuse(_ file: String, _ report: SpoolReport) {
        claimedAt[file] = nil
        do {
            let filed = try spool.finish(file, failure: report)
            let outcome = filed.map { "filed as failed/\($0)" } ?? "processing/\(file) is gone, nothing to file"
            log.warning("\(file): \(report.message); \(outcome)")
        } catch {
            // Not filed, not dropped: a job with no run yet is started again
            // shortly, and filed then; one with a journaled run is taken up
            // by the next start's recovery, which files it.
            guard report.runID == nil else {
                log.error("cannot file \(file): \(error); it stays in processing/ until the next start")
                return
            }
            retryLater(.start(file: file), because: "cannot be filed as failed (\(error))")
        }
    }
}
