import AtomdEngine
import AtomdPlugins
import AtomdSpec
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
    /// run directory the journal no longer knows, last written that long
    /// ago; see `RunLogs`) and job files filed in done/ longer than
    /// `retention.done` ago. failed/ is never pruned: its jobs wait for an operator.
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
        // A journal that cannot answer (PostgreSQL away) knows no run: then
        // no log directory is pruned, lest a live run's logs go.
        let logsCutoff = cutoff(retention.logs)
        var oldRuns: Set<String> = [], known: Set<String> = [], logsKnown = true
        do {
            oldRuns = Set(try await journal.runs(closedBefore: logsCutoff))
            for name in (try? FileManager.default.contentsOfDirectory(atPath: settings.logs)) ?? [] where RunLogs.isRunID(name) {
                if try await journal.run(name) != nil { known.insert(name) }
            }
        } catch {
            logsKnown = false
            log.error("retention: cannot read the journal (\(error)); no step logs are pruned this time")
        }
        let logs = settings.logs, done = settings.spool.done, doneCutoff = cutoff(retention.done)
        let (oldRunIDs, knownRunIDs, pruneLogs) = (oldRuns, known, logsKnown)
        let (logPass, doneFiles) = await OwnThread.run {
            (pruneLogs ? RunLogs.prune(logs) { name, modified in
                oldRunIDs.contains(name) || (!knownRunIDs.contains(name) && modified < logsCutoff)
            } : RunLogs.Pass(),
             Self.removeEntries(in: done) { name, modified in !name.hasPrefix(".") && modified < doneCutoff })
        }
        for kept in logPass.kept { log.warning("retention: kept \(kept)") }
        guard reportAlways || runs + logPass.removed + doneFiles > 0 else { return }
        let kept = "runs \(retention.runs.jobText), logs \(retention.logs.jobText), done \(retention.done.jobText)"
        log.info("retention (\(kept)): pruned \(runs) runs, \(logPass.removed) log directories, \(doneFiles) done jobs")
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

/// The step logs directory, `agent.logs`, which retention prunes as root.
/// atomd writes there one directory per run, named by its run id, holding
/// the run's step logs (`STEP.ATTEMPT.log`, `STEP.ATTEMPT.PHASE.log`, with
/// `.1` and `.merged` beside a capped log while it is rotated; `StepLog`) in
/// a directory per group. The agent refuses to start on a logs directory
/// holding anything else, and retention deletes only that shape, through
/// directory descriptors, never following a symlink: a run directory that
/// holds something atomd does not write is kept, and the pass says so.
enum RunLogs {
    /// Group directories nest no deeper than this (each is a step's group).
    static let maximumDepth = 64

    /// `20261122-211239-38ec9c`, as `RunID.make` spells run ids.
    static func isRunID(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard bytes.count == 22 else { return false }
        for (index, byte) in bytes.enumerated() {
            let digit = (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            switch index {
            case 8, 15: guard byte == UInt8(ascii: "-") else { return false }
            case 0..<15: guard digit else { return false }
            default: guard digit || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte) else { return false }
            }
        }
        return true
    }

    /// `STEP.ATTEMPT.log` or `STEP.ATTEMPT.PHASE.log`, or either with `.1`
    /// or `.merged` after it.
    static func isStepLog(_ name: String) -> Bool {
        var parts = name.split(separator: ".", omittingEmptySubsequences: false)
        if parts.count > 3, parts.last == "1" || parts.last == "merged" { parts.removeLast() }
        guard parts.count >= 3, parts.removeLast() == "log" else { return false }
        if let phase = parts.last.flatMap({ AtomPhase(rawValue: String($0)) }), phase != .execute { parts.removeLast() }
        guard parts.count >= 2, let attempt = parts.popLast(), !attempt.isEmpty,
              attempt.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return false }
        return !parts.joined(separator: ".").isEmpty
    }

    /// At start, after the directory checks: `logs` holds only run
    /// directories (and `lost+found`, when it is a file system of its own).
    /// Anything else may be another program's, which retention would delete.
    static func checkOnlyRuns(in logs: String) throws(TrustedDirectory.Refusal) {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: logs).sorted()
        } catch {
            throw TrustedDirectory.Refusal(path: logs, message: "cannot be listed: \(error.localizedDescription)", fix: "check agent.logs")
        }
        let foreign = names.filter { name in
            var info = stat()
            let isDirectory = lstat(logs + "/" + name, &info) == 0 && info.st_mode & S_IFMT == S_IFDIR
            return !(isDirectory && (isRunID(name) || name == "lost+found"))
        }
        guard let first = foreign.first else { return }
        let more = foreign.count > 1 ? " (nor \(foreign.count == 2 ? "is 1 other entry" : "are \(foreign.count - 1) other entries") there)" : ""
        throw TrustedDirectory.Refusal(
            path: logs + "/" + first,
            message: "is not a run's log directory\(more): atomd deletes old entries of agent.logs, so it holds only atomd's run directories",
            fix: "set agent.logs to a directory of atomd's own (such as /var/log/atomd), or move what is not atomd's out of \(logs)")
    }

    struct Pass {
        var removed = 0
        /// Run directories left in place, and why.
        var kept: [String] = []
    }

    /// Deletes the run directories of `logs` that `old` picks (by name and
    /// modification time), if they hold only what atomd writes.
    static func prune(_ logs: String, where old: (String, Date) -> Bool) -> Pass {
        var pass = Pass()
        // `logs` itself passed the directory checks at start.
        let directory = open(logs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else {
            pass.kept.append("\(logs): cannot be opened: \(String(cString: strerror(errno)))")
            return pass
        }
        defer { close(directory) }
        for entry in entries(of: directory) {
            guard let name = entry.name, isRunID(name) else { continue }
            var info = stat()
            guard fstatat(directory, entry.bytes, &info, AT_SYMLINK_NOFOLLOW) == 0,
                  old(name, Date(timeIntervalSince1970: Double(info.st_mtim.tv_sec))) else { continue }
            let path = logs + "/" + name
            guard info.st_mode & S_IFMT == S_IFDIR else {
                pass.kept.append("\(path): not a directory, so not atomd's; remove it by hand")
                continue
            }
            let run = openat(directory, entry.bytes, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard run >= 0 else {
                pass.kept.append("\(path): cannot be opened: \(String(cString: strerror(errno)))")
                continue
            }
            var strangers: [String] = []
            findStrangers(in: run, prefix: "", depth: 0, into: &strangers)
            if !strangers.isEmpty {
                close(run)
                let listed = strangers.prefix(5).joined(separator: ", ") + (strangers.count > 5 ? " and \(strangers.count - 5) more" : "")
                pass.kept.append("\(path): it holds what atomd does not write there (\(listed)); move that out, and it goes at the next pass")
                continue
            }
            let emptied = removeContents(of: run)
            close(run)
            if emptied, unlinkat(directory, entry.bytes, AT_REMOVEDIR) == 0 {
                pass.removed += 1
            } else {
                pass.kept.append("\(path): cannot be removed: \(String(cString: strerror(errno)))")
            }
        }
        return pass
    }

    /// A directory entry: its name as the kernel has it, and as text when it is UTF-8.
    struct Entry {
        var bytes: [CChar]
        var name: String? { String(validatingCString: bytes) }
        var shown: String { String(decoding: bytes.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self) }
    }

    /// The entries of an open directory, without `.` and `..`, sorted.
    static func entries(of directory: Int32) -> [Entry] {
        let copy = dup(directory)
        guard copy >= 0, let stream = fdopendir(copy) else {
            if copy >= 0 { close(copy) }
            return []
        }
        defer { closedir(stream) }
        // The copy shares its offset with `directory`, which an earlier listing left at the end.
        rewinddir(stream)
        var found: [Entry] = []
        while let entry = readdir(stream) {
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }).map { CChar(bitPattern: $0) } + [0] }
            if bytes != [46, 0], bytes != [46, 46, 0] { found.append(Entry(bytes: bytes)) }
        }
        return found.sorted { $0.bytes.lexicographicallyPrecedes($1.bytes) }
    }

    /// What in an open run (or group) directory atomd does not write: not a
    /// step log's name, not a regular file (a symlink is fine: it is
    /// removed, never followed), or too deep.
    private static func findStrangers(in directory: Int32, prefix: String, depth: Int, into strangers: inout [String]) {
        for entry in entries(of: directory) {
            let shown = prefix + entry.shown
            var info = stat()
            guard let name = entry.name, fstatat(directory, entry.bytes, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                strangers.append(shown)
                continue
            }
            switch info.st_mode & S_IFMT {
            case S_IFLNK:
                break
            case S_IFREG where isStepLog(name):
                break
            case S_IFDIR where depth < maximumDepth:
                let child = openat(directory, entry.bytes, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard child >= 0 else {
                    strangers.append(shown + "/")
                    continue
                }
                findStrangers(in: child, prefix: shown + "/", depth: depth + 1, into: &strangers)
                close(child)
            case S_IFREG, S_IFDIR:
                strangers.append(shown)
            default:
                strangers.append(shown + " (not a regular file)")
            }
        }
    }

    /// Empties an open directory: unlinks files and symlinks (the links
    /// themselves), empties and removes directories, all relative to the
    /// descriptor. False when something stayed.
    private static func removeContents(of directory: Int32) -> Bool {
        var emptied = true
        for entry in entries(of: directory) {
            var info = stat()
            guard fstatat(directory, entry.bytes, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                emptied = false
                continue
            }
            if info.st_mode & S_IFMT == S_IFDIR {
                let child = openat(directory, entry.bytes, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard child >= 0 else {
                    emptied = false
                    continue
                }
                let childEmptied = removeContents(of: child)
                close(child)
                if !childEmptied || unlinkat(directory, entry.bytes, AT_REMOVEDIR) != 0 { emptied = false }
            } else if unlinkat(directory, entry.bytes, 0) != 0 {
                emptied = false
            }
        }
        return emptied
    }
}
