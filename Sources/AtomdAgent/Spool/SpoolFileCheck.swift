import Foundation

/// Checks a job file before it is claimed, as cron checks a crontab: whoever
/// can write the file decides what atomd runs.
public struct SpoolFileCheck: Sendable {
    /// Owners whose job files are accepted: root and the agent's user.
    public var trustedOwners: Set<uid_t>

    public init(trustedOwners: Set<uid_t> = [0, getuid()]) {
        self.trustedOwners = trustedOwners
    }

    public enum Verdict: Sendable, Hashable {
        case accept
        /// Not a job file at all (a symlink, a directory, gone): leave it alone.
        case ignore
        /// A job file atomd must not run; it goes to `failed/` with the reason.
        case reject(String, hint: String)
    }

    public func verdict(_ path: String) -> Verdict {
        var info = stat()
        guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { return .ignore }
        guard trustedOwners.contains(info.st_uid) else {
            return .reject("the file is owned by uid \(info.st_uid), not by root or the agent's user",
                           hint: "submit it as root or as atomd's user (or with `atomd submit`)")
        }
        guard info.st_mode & 0o022 == 0 else {
            return .reject("the file is writable by its group or by everyone (mode \(String(info.st_mode & 0o7777, radix: 8)))",
                           hint: "chmod go-w it before renaming it into the spool")
        }
        guard info.st_nlink == 1 else {
            return .reject("the file has \(info.st_nlink) hard links",
                           hint: "a linked file can be changed through its other names; copy it instead")
        }
        return .accept
    }
}
