import CAtomdAgent
import AtomdSpec
import Foundation

/// Puts a job into incoming/ as a producer must: written aside under a
/// dotted temporary name, synced, then renamed in without replacing
/// anything (a name in use gets a number). The watcher sees only the
/// complete file.
public enum SpoolDrop {
    /// Returns the name the job arrived under. With `submission`, its
    /// sidecar arrives first, under the name the job then takes.
    public static func write(_ bytes: [UInt8], named name: String, submission: SpoolSubmission? = nil,
                             into layout: SpoolLayout) throws(SpoolError) -> String {
        try write(bytes, named: name, submission: submission, intoDirectory: layout.incoming, numbering: true)
    }

    /// The same into `directory`; without `numbering`, a name in use is an error.
    static func write(_ bytes: [UInt8], named name: String, submission: SpoolSubmission? = nil, intoDirectory directory: String,
                      numbering: Bool) throws(SpoolError) -> String {
        guard SpoolNames.isJob(name) else {
            throw SpoolError(name, "is not a job file name", hint: "use NAME.yaml or NAME.yml, no '/' and no leading '.'")
        }
        var submission = submission
        submission?.job = SHA256.hex(bytes)
        let aside = try writeAside(bytes, in: directory)
        for number in 0..<(numbering ? 1000 : 1) {
            let target = Spool.numbered(name, number)
            let sidecar = directory + "/" + SpoolSubmission.sidecar(of: target)
            if let submission {
                // A sidecar already there belongs to another job of this name.
                guard access(sidecar, F_OK) != 0 else { continue }
                let sideAside: String
                do {
                    sideAside = try writeAside(submission.json, in: directory)
                } catch {
                    unlink(aside)
                    throw error
                }
                guard atomd_rename_noreplace(sideAside, sidecar) == 0 else {
                    unlink(sideAside)
                    continue
                }
            }
            if atomd_rename_noreplace(aside, directory + "/" + target) == 0 {
                try? Spool.sync(directory)
                return target
            }
            let failure = errno
            if submission != nil { unlink(sidecar) }
            guard failure == EEXIST else { break }
        }
        let error = SystemError.current
        unlink(aside)
        throw SpoolError(directory, "cannot take the job: \(error)")
    }

    /// Writes `bytes` under a dotted temporary name in `directory`, synced.
    private static func writeAside(_ bytes: [UInt8], in directory: String) throws(SpoolError) -> String {
        let aside = directory + "/.submit-" + UUID().uuidString + ".tmp"
        let fd = open(aside, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            // A spool that does not exist is not made here: the agent makes it
            // with its owner and modes, and a mistyped --home should not leave
            // a spool nobody watches.
            if errno == ENOENT {
                throw SpoolError(directory, "does not exist", hint: "the agent makes its spool when it first starts; is --home right?")
            }
            throw SpoolError(directory, "cannot be written: \(SystemError.current)")
        }
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced else {
            let error = SystemError.current
            unlink(aside)
            throw SpoolError(directory, "cannot be written: \(error)")
        }
        return aside
    }
}
