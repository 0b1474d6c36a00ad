import CAtomdShell
import Glibc

/// A local account a step runs as (`user:` / `group:`), looked up in the
/// system's user database.
struct UserAccount: Sendable, Hashable {
    var name: String
    var uid: uid_t
    var gid: gid_t
    var home: String
    var groups: [gid_t]

    static func lookup(user: String, group: String?) throws(ShellError) -> UserAccount {
        guard geteuid() == 0 else {
            throw ShellError("running a step as '\(user)' needs the agent to run as root")
        }
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 << 10)
        guard getpwnam_r(user, &entry, &buffer, buffer.count, &result) == 0, result != nil else {
            throw ShellError("user '\(user)' does not exist")
        }
        var gid = entry.pw_gid
        if let group { gid = try lookupGroup(group) }
        var groups = [gid_t](repeating: 0, count: 256)
        let count = atomd_group_list(user, gid, &groups, Int32(groups.count))
        guard count >= 0 else { throw ShellError("user '\(user)' is in more than 256 groups") }
        return UserAccount(name: user, uid: entry.pw_uid, gid: gid,
                           home: String(cString: entry.pw_dir), groups: Array(groups.prefix(Int(count))))
    }

    /// util-linux's setpriv, which switches to the account and execs the step.
    static func setpriv() throws(ShellError) -> String {
        for directory in Interpreter.searchPath where access("\(directory)/setpriv", X_OK) == 0 {
            return "\(directory)/setpriv"
        }
        throw ShellError("running a step as another user needs setpriv (Debian package util-linux)")
    }

    /// `--reuid`, `--regid` and the supplementary groups, then `--`.
    func setprivArguments() throws(ShellError) -> [String] {
        let groupsArgument = groups.isEmpty ? "--clear-groups" : "--groups=" + groups.map(String.init).joined(separator: ",")
        return ["--reuid=\(uid)", "--regid=\(gid)", groupsArgument, "--"]
    }

    private static func lookupGroup(_ name: String) throws(ShellError) -> gid_t {
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16 << 10)
        guard getgrnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else {
            throw ShellError("group '\(name)' does not exist")
        }
        return entry.gr_gid
    }
}
