import CAtomdAgent
import Foundation

/// Puts a job into incoming/ as a producer must: written aside under a
/// dotted temporary name, synced, then renamed in without replacing
/// anything (a name in use gets a number). The watcher sees only the
/// complete file.
public enum SpoolDrop {
    /// Returns the name the job arrived under.
    public static func write(_ bytes: [UInt8], named name: String, into layout: SpoolLayout) throws(SpoolError) -> String {
        try write(bytes, named: name, intoDirectory: layout.incoming, numbering: true)
    }

    /// The same into `directory`; without `numbering`, a name in use is an error.
    static func write(_ bytes: [UInt8], named name: String, intoDirectory incoming: String, numbering: Bool) throws(SpoolError) -> String {
        guard SpoolNames.isJob(name) else {
            throw SpoolError(name, "is not a job file name", hint: "use NAME.yaml or NAME.yml, no '/' and no leading '.'")
        }
        let aside = incoming + "/.submit-" + UUID().uuidString + ".tmp"
        let fd = open(aside, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            // A spool that does not exist is not made here: the agent makes it
            // with its owner and modes, and a mistyped --home should not leave
            // a spool nobody watches.
            if errno == ENOENT {
                throw SpoolError(incoming, "does not exist", hint: "the agent makes its spool when it first starts; is --home right?")
            }
            throw SpoolError(incoming, "cannot be written: \(SystemError.current)")
        }
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced else {
            let error = SystemError.current
            unlink(aside)
            throw SpoolError(incoming, "cannot be written: \(error)")
        }
        for number in 0..<(numbering ? 1000 : 1) {
            let target = Spool.numbered(name, number)
            if atomd_rename_noreplace(aside, incoming + "/" + target) == 0 {
                try? Spool.sync(incoming)
                return target
            }
            guard errno == EEXIST else { break }
        }
        let error = SystemError.current
        unlink(aside)
        throw SpoolError(incoming, "cannot take the job: \(error)")
    }
}
