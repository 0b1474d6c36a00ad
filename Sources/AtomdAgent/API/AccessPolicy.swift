import AtomdSpec
import Foundation

/// Who may call the control API, and whose runs they may steer.
/// - root and the agent's own user own the agent: everything, and their
///   jobs are not limited by `api.run_as`;
/// - `api.admins` may call everything and steer every run;
/// - members of `api.group` may submit jobs, read everything, and steer
///   the runs they submitted;
/// - with `public_read`, anyone may call what only reads.
struct AccessPolicy: Sendable {
    var agentUser: uid_t = getuid()
    var group: gid_t?
    var publicRead: Bool
    var admins: Admins = Admins()

    func allows(_ peer: PeerCredentials, readOnly: Bool) -> Bool {
        if ownsAgent(peer.uid) || isAdmin(peer) { return true }
        if let group, Self.groups(of: peer.uid, primary: peer.gid).contains(group) { return true }
        return readOnly && publicRead
    }

    /// Root and the agent's user: they could change its configuration anyway.
    func ownsAgent(_ uid: uid_t) -> Bool {
        uid == 0 || uid == agentUser
    }

    /// May steer every run, whoever submitted it.
    func isAdmin(_ peer: PeerCredentials) -> Bool {
        if ownsAgent(peer.uid) || admins.users.contains(peer.uid) { return true }
        return !admins.groups.isEmpty && !admins.groups.isDisjoint(with: Self.groups(of: peer.uid, primary: peer.gid))
    }

    /// Why `peer` may not steer a run `submitter` submitted; nil when it may.
    func steeringRefusal(_ peer: PeerCredentials, submitter: uid_t) -> String? {
        guard !isAdmin(peer), peer.uid != submitter else { return nil }
        return "\(UserDatabase.name(of: peer.uid)) may steer only the runs they submitted, and this run was submitted by \(UserDatabase.name(of: submitter))"
    }

    /// The user's groups from the group database (SO_PEERCRED carries only
    /// the primary one).
    static func groups(of uid: uid_t, primary: gid_t) -> Set<gid_t> {
        guard var user = UserDatabase.user(id: uid) else { return [primary] }
        user.gid = primary
        return Set(UserDatabase.groups(of: user) ?? [primary])
    }
}

/// `api.admins` with names looked up once, at start and on SIGHUP.
public struct Admins: Sendable, Hashable {
    var users: Set<uid_t> = []
    var groups: Set<gid_t> = []

    init() {}

    /// Fails on a name the user or group database does not know.
    init(_ principals: Principals) throws(AgentError) {
        for user in principals.users {
            guard let entry = UserDatabase.user(named: user) else {
                throw AgentError("api.admins: there is no user '\(user)'", hint: "create it or remove it from the list")
            }
            users.insert(entry.uid)
        }
        for group in principals.groups {
            guard let gid = UserDatabase.group(named: group) else {
                throw AgentError("api.admins: there is no group '\(group)'", hint: "create it (groupadd \(group)) or remove it from the list")
            }
            groups.insert(gid)
        }
    }
}
