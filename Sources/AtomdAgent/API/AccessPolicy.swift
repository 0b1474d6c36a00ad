import Foundation

/// Who may call the control API: root, the agent's own user, and members
/// of the configured group may call everything; with `public_read`, anyone
/// may call what only reads.
struct AccessPolicy: Sendable {
    var agentUser: uid_t = getuid()
    var group: gid_t?
    var publicRead: Bool

    func allows(_ peer: PeerCredentials, readOnly: Bool) -> Bool {
        if peer.uid == 0 || peer.uid == agentUser { return true }
        if let group, peer.gid == group || Self.groups(of: peer.uid, primary: peer.gid).contains(group) { return true }
        return readOnly && publicRead
    }

    /// The user's groups from the group database (SO_PEERCRED carries only
    /// the primary one).
    static func groups(of uid: uid_t, primary: gid_t) -> [gid_t] {
        guard let entry = getpwuid(uid), let name = entry.pointee.pw_name else { return [primary] }
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(name, primary, &groups, &count) < 0 {
            groups = [gid_t](repeating: 0, count: Int(count))
            guard getgrouplist(name, primary, &groups, &count) >= 0 else { return [primary] }
        }
        return Array(groups.prefix(Int(count)))
    }
}
