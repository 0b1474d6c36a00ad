import CAtomdAgent
import Foundation

/// Moves job files through the spool: finds them in `incoming/`, claims
/// them into `processing/`, and files them in `done/` or `failed/` with a
/// report. Every move is a rename followed by an fsync of both directories,
/// so a job file survives a crash in exactly one place, and none is ever
/// replaced or deleted. An error after a rename never undoes the move: the
/// job is where the rename put it, and its caller goes on from there.
public struct Spool: Sendable {
    public let layout: SpoolLayout
    public let check: SpoolFileCheck
    /// Told when a move happened but a directory could not be synced after
    /// it: the move stands (the job is taken up where it is), and only a
    /// power loss could undo it.
    let unsynced: @Sendable (SpoolError) -> Void

    public init(layout: SpoolLayout, check: SpoolFileCheck = SpoolFileCheck(),
                unsynced: @escaping @Sendable (SpoolError) -> Void = { _ in }) {
        self.layout = layout
        self.check = check
        self.unsynced = unsynced
    }

    /// The job files in `incoming/` (regular files with job names), oldest
    /// first by change time, which a rename sets: the order jobs arrived in.
    public func scan() throws(SpoolError) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: layout.incoming) else {
            throw SpoolError(layout.incoming, "cannot be read: \(String(cString: strerror(errno)))")
        }
        var found: [(name: String, arrived: timespec)] = []
        for name in names where SpoolNames.isJob(name) {
            var info = stat()
            guard lstat(layout.incoming + "/" + name, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
            found.append((name, info.st_ctim))
        }
        return found.sorted {
            ($0.arrived.tv_sec, $0.arrived.tv_nsec, $0.name) < ($1.arrived.tv_sec, $1.arrived.tv_nsec, $1.name)
        }.map(\.name)
    }

    /// What became of an attempt to claim a file.
    public enum Claim: Sendable, Hashable {
        /// Now in `processing/` under this name.
        case claimed(String)
        /// Not a job file, or already gone: nothing was done.
        case ignored
        /// Refused by the file check and filed in `failed/` with its report.
        case rejected(String)
    }

    /// Claims `incoming/name`. The name in `processing/` gets a numeric
    /// suffix when an earlier job of the same name is still there.
    public func claim(_ name: String) throws(SpoolError) -> Claim {
        guard SpoolNames.isJob(name) else { return .ignored }
        let source = layout.incoming + "/" + name
        switch check.verdict(source) {
        case .ignore:
            return .ignored
        case .reject(let message, let hint):
            let report = SpoolReport(file: name, message: message, hint: hint)
            // The sidecar goes while the refused job still holds its name: a
            // new submission of that name cannot land in between and lose its own.
            unlink(layout.incoming + "/" + SpoolSubmission.sidecar(of: name))
            // The report is written first: the job lands in failed/ with it.
            guard let filed = try move(source, into: layout.failed, from: layout.incoming, report: report) else { return .ignored }
            return .rejected(filed)
        case .accept:
            return try accept(name)
        }
    }

    /// Moves an accepted job and its sidecar into processing/. The sidecar
    /// goes first, under the name the job will take: a crash between the two
    /// renames leaves the job to be claimed again, under the same name, and
    /// finds its sidecar there. When the job's rename fails, the sidecar goes
    /// back beside it, so that the job is claimed later as it was submitted,
    /// and no job later claimed under that name finds it.
    private func accept(_ name: String) throws(SpoolError) -> Claim {
        let source = layout.incoming + "/" + name
        let target = (0..<10_000).lazy.map { Self.numbered(name, $0) }
            .first { access(layout.processing + "/" + $0, F_OK) != 0 } ?? name
        let sidecar = layout.incoming + "/" + SpoolSubmission.sidecar(of: name)
        let parked = layout.processing + "/" + SpoolSubmission.sidecar(of: target)
        // `atomd submit` writes regular files; anything else under the name
        // (a directory someone planted) is not a submission, and stays.
        var info = stat()
        let hasSidecar = lstat(sidecar, &info) == 0 && info.st_mode & S_IFMT == S_IFREG
        if hasSidecar {
            guard rename(sidecar, parked) == 0 else {
                throw SpoolError(sidecar, "cannot be moved into processing/: \(String(cString: strerror(errno)))")
            }
        }
        let claimed: String?
        do {
            claimed = try move(source, into: layout.processing, from: layout.incoming)
        } catch {
            // Back beside its job, which still holds the name in incoming/.
            if hasSidecar, SpoolFault.claimRestore.strike() != nil || atomd_rename_noreplace(parked, sidecar) != 0 {
                unlink(parked)
                // Claimed later without it, the job would run with values and
                // a submitter nobody chose: refused instead.
                let report = SpoolReport(file: name, message: "its submission (values, submitter) could not be put back beside it "
                                         + "after a failed claim (\(error.message))", hint: "submit it again")
                _ = try? move(source, into: layout.failed, from: layout.incoming, report: report)
            }
            throw error
        }
        guard let claimed else {
            // The job was taken away: its sidecar goes with it.
            if hasSidecar { unlink(parked) }
            return .ignored
        }
        if hasSidecar, claimed != target {
            rename(parked, layout.processing + "/" + SpoolSubmission.sidecar(of: claimed))
        }
        return .claimed(claimed)
    }

    /// Files `processing/name` in `done/`, or in `failed/` with `report`
    /// beside it as `NAME.error.json`. Returns the name it was filed under;
    /// nil when the file is gone (removed by hand): there is nothing to
    /// file, and its sidecar goes too.
    @discardableResult
    public func finish(_ name: String, failure report: SpoolReport? = nil) throws(SpoolError) -> String? {
        let source = layout.processing + "/" + name
        let target = report == nil ? layout.done : layout.failed
        // A report keeps the submission's token, for `atomd submit --wait`
        // to find; otherwise the journal holds what the sidecar said.
        var report = report
        report?.submission = (try? SpoolSubmission.read(beside: name, in: layout.processing))?.token
        let filed = try move(source, into: target, from: layout.processing, report: report)
        unlink(layout.processing + "/" + SpoolSubmission.sidecar(of: name))
        return filed
    }

    /// The report of the job submitted with `token` that was filed in
    /// `failed/` without a run (refused when claimed), if there is one.
    public func refusal(submission token: String) -> SpoolReport? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: layout.failed)) ?? []
        for name in names where name.hasSuffix(".error.json") && !name.hasPrefix(".") {
            guard let bytes = try? SpoolFile.read(layout.failed + "/" + name, maxBytes: SpoolReport.maxBytes),
                  let report = try? JSONDecoder().decode(SpoolReport.self, from: Data(bytes)),
                  report.submission == token else { continue }
            return report
        }
        return nil
    }

    /// Whether `incoming/name` is a regular file with more than one link.
    public func isHardLink(_ name: String) -> Bool {
        var info = stat()
        return lstat(layout.incoming + "/" + name, &info) == 0 && info.st_mode & S_IFMT == S_IFREG && info.st_nlink > 1
    }

    /// The files in `processing/`: jobs claimed before a restart.
    public func claimed() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: layout.processing)) ?? []).filter(SpoolNames.isJob).sorted()
    }

    /// Renames `source` into `directory` without replacing anything there
    /// (`name`, then `name.1.yaml`, ...) and makes both directories durable.
    /// A `report` is written beside the name first, so that whoever sees a
    /// job in `failed/` finds its report there too. Nil when `source` is gone.
    private func move(_ source: String, into directory: String, from sourceDirectory: String,
                      report: SpoolReport? = nil) throws(SpoolError) -> String? {
        let name = (source as NSString).lastPathComponent
        if directory == layout.processing, let error = SpoolFault.claimRename.strike() {
            throw SpoolError(source, "cannot be moved into \(directory): \(String(cString: strerror(error)))")
        }
        for attempt in 0..<10_000 {
            let candidate = Self.numbered(name, attempt)
            if let report {
                guard access(directory + "/" + candidate, F_OK) != 0 else { continue }
                try write(report, beside: candidate)
            }
            if atomd_rename_noreplace(source, directory + "/" + candidate) == 0 {
                settle(directory)
                settle(sourceDirectory)
                return candidate
            }
            let error = errno
            if report != nil { unlink(directory + "/" + candidate + ".error.json") }
            switch error {
            case EEXIST: continue
            case ENOENT: return nil
            default: throw SpoolError(source, "cannot be moved into \(directory): \(String(cString: strerror(error)))")
            }
        }
        throw SpoolError(directory, "holds 10,000 jobs named like \(name)", hint: "clear out old jobs, then restart the agent", passing: false)
    }

    /// `deploy.yaml` → `deploy.3.yaml` (0: `deploy.yaml`). The stem is
    /// shortened when needed so that the name, its `.error.json` and the
    /// report's temporary name all fit in a directory entry (255 bytes).
    static func numbered(_ name: String, _ number: Int) -> String {
        let ext = "." + (name as NSString).pathExtension
        let suffix = number == 0 ? "" : ".\(number)"
        var stem = (name as NSString).deletingPathExtension
        let room = 255 - ".".utf8.count - ".error.json.tmp".utf8.count - suffix.utf8.count - ext.utf8.count
        while stem.utf8.count > room { stem.removeLast() }
        return stem + suffix + ext
    }

    /// Writes `NAME.error.json` beside the filed job: written aside, flushed, renamed.
    private func write(_ report: SpoolReport, beside name: String) throws(SpoolError) {
        let path = layout.failed + "/" + name + ".error.json"
        let temporary = layout.failed + "/." + name + ".error.json.tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SpoolError(temporary, "cannot be created: \(String(cString: strerror(errno)))") }
        let bytes = report.json()
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let flushed = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, flushed, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw SpoolError(path, "cannot be written: \(String(cString: strerror(errno)))")
        }
        try Self.sync(layout.failed)
    }

    /// Syncs `directory` after a rename in it, which has happened whatever
    /// the sync says: a failure is reported, not thrown.
    private func settle(_ directory: String) {
        do throws(SpoolError) {
            if directory == layout.processing, let error = SpoolFault.claimSync.strike() {
                throw SpoolError(directory, "cannot be synced: \(String(cString: strerror(error)))")
            }
            try Self.sync(directory)
        } catch {
            unsynced(error)
        }
    }

    /// fsync of a directory: makes the renames in it durable.
    static func sync(_ directory: String) throws(SpoolError) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SpoolError(directory, "cannot be opened: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw SpoolError(directory, "cannot be synced: \(String(cString: strerror(errno)))") }
    }
}
