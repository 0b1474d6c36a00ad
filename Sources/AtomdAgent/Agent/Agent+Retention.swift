import AtomdPlugins
import Foundation

extension Agent {
    /// How often retention runs after the pass at start.
    static let retentionInterval: Duration = .seconds(3600)

    /// `agent.retention`, at start and then hourly while the agent accepts
    /// jobs. A pass that fails is logged; the next one tries again.
    func startRetention() {
        Task { [weak self] in
            var first = true
            while let self, await self.accepting {
                await self.prune(reportAlways: first)
                first = false
                try? await Task.sleep(for: Self.retentionInterval)
            }
        }
    }

    /// Deletes closed runs older than `retention.runs` from the journal, the
    /// step logs of runs closed longer than `retention.logs` ago (or, for a
    /// directory the journal no longer knows, last written that long ago)
    /// and job files filed in done/ longer than `retention.done` ago.
    /// failed/ is never pruned: its jobs wait for an operator.
    func prune(reportAlways: Bool = false) async {
        let retention = settings.retention, now = Date()
        func cutoff(_ age: Duration) -> Date { now.addingTimeInterval(-Double(age.components.seconds)) }
        var runs = 0
        do {
            runs = try await journal.prune(closedBefore: cutoff(retention.runs)).count
        } catch {
            log.error("retention: cannot prune the journal: \(error)")
        }
        // Which log directories belong to runs closed long enough ago, asked
        // before the files are touched.
        let logsCutoff = cutoff(retention.logs)
        let oldRuns = Set((try? journal.runs(closedBefore: logsCutoff)) ?? [])
        let known = Set(((try? FileManager.default.contentsOfDirectory(atPath: settings.logs)) ?? []).filter { name in
            (try? journal.run(name)) != nil
        })
        let logs = settings.logs, done = settings.spool.done, doneCutoff = cutoff(retention.done)
        let (logDirectories, doneFiles) = await OwnThread.run {
            (Self.removeEntries(in: logs) { name, modified in oldRuns.contains(name) || (!known.contains(name) && modified < logsCutoff) },
             Self.removeEntries(in: done) { name, modified in !name.hasPrefix(".") && modified < doneCutoff })
        }
        guard reportAlways || runs + logDirectories + doneFiles > 0 else { return }
        let kept = "runs \(retention.runs.jobText), logs \(retention.logs.jobText), done \(retention.done.jobText)"
        log.info("retention (\(kept)): pruned \(runs) runs, \(logDirectories) log directories, \(doneFiles) done jobs")
    }

    /// Removes the entries of `directory` that `old` picks, by name and
    /// modification time; returns how many went.
    private static func removeEntries(in directory: String, where old: (String, Date) -> Bool) -> Int {
        var removed = 0
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            let path = directory + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0 else { continue }
            let modified = Date(timeIntervalSince1970: Double(info.st_mtim.tv_sec))
            guard old(name, modified), (try? FileManager.default.removeItem(atPath: path)) != nil else { continue }
            removed += 1
        }
        return removed
    }
}
