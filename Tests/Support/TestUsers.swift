import Foundation
import Glibc

/// Real local accounts for privilege tests, made with `useradd` the first
/// time a test asks (the tests run as root): an *outsider* with no rights,
/// a *submitter* in the agent's API group, a second submitter, an *admin*,
/// and *deploy*, the user jobs may act as. Made once per machine and kept:
/// every test run finds the same accounts, and no test depends on another
/// having made them.
public enum TestUsers {
    /// The API group the submitters are in.
    public static let apiGroup = "atomd-t-api"
    /// A group none of the test users is in (stands for `shadow`, `disk`).
    public static let foreignGroup = "atomd-t-foreign"
    /// A group only `deploy` is in, beside its own.
    public static let deployExtraGroup = "atomd-t-deployx"

    public struct Account: Sendable, CustomStringConvertible {
        public var name: String
        public var uid: uid_t
        public var gid: gid_t
        public var home: String
        public var description: String { "\(name) (uid \(uid))" }

        /// What runs a command as this account, with its groups (setpriv).
        public var setpriv: [String] {
            ["/usr/bin/setpriv", "--reuid=\(uid)", "--regid=\(gid)", "--init-groups", "--"]
        }
    }

    /// Has no group and no right at all.
    public static var outsider: Account { get throws { try account("atomd-t-outsider") } }

    /// A new directory under /tmp (not the test's private temporary
    /// directory) that every test user can reach: mode 0755, owned by
    /// `owner` when given. The caller removes it.
    public static func reachableDirectory(_ prefix: String, owner: Account? = nil) throws -> String {
        let path = "/tmp/\(prefix)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        if let owner { chown(path, owner.uid, owner.gid) }
        return path
    }
    /// A member of `apiGroup`.
    public static var submitter: Account { get throws { try account("atomd-t-submitter", groups: [apiGroup]) } }
    /// Another member of `apiGroup`.
    public static var otherSubmitter: Account { get throws { try account("atomd-t-other", groups: [apiGroup]) } }
    /// Listed in `api.admins`; reaches the socket as a member of `apiGroup`.
    public static var admin: Account { get throws { try account("atomd-t-admin", groups: [apiGroup]) } }
    /// The user `api.run_as` lets jobs act as; also in `deployExtraGroup`.
    public static var deploy: Account { get throws { try account("atomd-t-deploy", groups: [deployExtraGroup]) } }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    private static let lock = NSLock()

    /// The account `name`, made (with a home and the supplementary groups
    /// `groups`) if it does not exist yet.
    public static func account(_ name: String, groups: [String] = []) throws -> Account {
        lock.lock()
        defer { lock.unlock() }
        for group in [apiGroup, foreignGroup, deployExtraGroup] where getgrnam(group) == nil {
            try command("/usr/sbin/groupadd", ["-f", group])
        }
        if getpwnam(name) == nil {
            var arguments = ["--create-home", "--shell", "/bin/bash"]
            if !groups.isEmpty { arguments += ["--groups", groups.joined(separator: ",")] }
            try command("/usr/sbin/useradd", arguments + [name])
        }
        for group in groups where !(getgrnam(group).map { Self.members($0.pointee).contains(name) } ?? false) {
            try command("/usr/sbin/usermod", ["--append", "--groups", group, name])
        }
        guard let entry = getpwnam(name) else { throw Failure(description: "useradd did not make \(name)") }
        return Account(name: name, uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid,
                       home: String(cString: entry.pointee.pw_dir))
    }

    private static func members(_ group: group) -> [String] {
        var names: [String] = []
        var member = group.gr_mem
        while let pointer = member?.pointee {
            names.append(String(cString: pointer))
            member = member?.advanced(by: 1)
        }
        return names
    }

    /// The gid of a group made by `account`.
    public static func gid(_ group: String) throws -> gid_t {
        _ = try outsider
        guard let entry = getgrnam(group) else { throw Failure(description: "no group \(group)") }
        return entry.pointee.gr_gid
    }

    private static func command(_ path: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let said = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        // Another test process may have made it in the meantime.
        guard process.terminationStatus == 0 || process.terminationStatus == 9 else {
            throw Failure(description: "\(path) \(arguments.joined(separator: " ")): exit \(process.terminationStatus): \(String(decoding: said, as: UTF8.self))")
        }
    }
}
