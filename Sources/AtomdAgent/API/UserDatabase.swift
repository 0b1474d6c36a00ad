import Foundation

/// Look-ups in the user and group databases with the reentrant calls:
/// admission runs on threads of its own, several at once, and
/// `getpwnam`'s shared buffer would mix their answers.
enum UserDatabase {
    struct User: Sendable, Hashable {
        var name: String
        var uid: uid_t
        var gid: gid_t
    }

    static func user(named name: String) -> User? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 << 10)
        guard getpwnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return User(name: name, uid: entry.pw_uid, gid: entry.pw_gid)
    }

    static func user(id uid: uid_t) -> User? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 << 10)
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &result) == 0, result != nil, let name = entry.pw_name else { return nil }
        return User(name: String(cString: name), uid: uid, gid: entry.pw_gid)
    }

    static func group(named name: String) -> gid_t? {
        var entry = Glibc.group()
        var result: UnsafeMutablePointer<Glibc.group>?
        var buffer = [CChar](repeating: 0, count: 16 << 10)
        guard getgrnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return entry.gr_gid
    }

    /// `getgrouplist`: the primary group and every group listing the user.
    static func groups(of user: User) -> [gid_t]? {
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(user.name, user.gid, &groups, &count) < 0 {
            groups = [gid_t](repeating: 0, count: Int(count))
            guard getgrouplist(user.name, user.gid, &groups, &count) >= 0 else { return nil }
        }
        return Array(groups.prefix(Int(count)))
    }

    static func name(of uid: uid_t) -> String {
        user(id: uid)?.name ?? "uid \(uid)"
    }
}
