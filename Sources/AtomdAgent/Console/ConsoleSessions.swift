import Foundation
import Synchronization

/// The web console's login links and browser sessions. Nothing is written
/// to disk: an agent restart signs everyone out, and no password or token
/// can be read from a file. A session id is a bearer credential the page
/// keeps in its own sessionStorage and sends in `Authorization`, never a
/// cookie: a cookie for 127.0.0.1 is sent to every port of that host, so
/// any local user's server on another port would receive it.
final class ConsoleSessions: Sendable {
    /// What a signed-in browser may do, fixed when its link was made.
    struct Session: Sendable {
        /// Steer (POST) as well as read: the link's caller could steer through the socket.
        var steer: Bool
        var user: String
        /// Who asked for the link: whose runs the session steers.
        var peer: PeerCredentials
        var expires: ContinuousClock.Instant
    }

    private struct Link {
        var steer: Bool
        var user: String
        var peer: PeerCredentials
        var expires: ContinuousClock.Instant
    }

    private struct State {
        var links: [String: Link] = [:]
        var sessions: [String: Session] = [:]
    }

    /// A link is good once, for this long: long enough to paste it into a browser.
    static let linkLifetime = Duration.seconds(120)
    /// A session ends this long after its login, however busy.
    static let sessionLifetime = Duration.seconds(12 * 3600)
    /// Bounds on what callers can make the agent hold. Each user has their
    /// own share, and their own oldest goes first, so no user can push out
    /// another's links or sessions; only when every slot is taken does the
    /// user holding the most lose their oldest.
    static let maxLinks = 64, maxSessions = 256
    static let maxLinksPerUser = 8, maxSessionsPerUser = 16

    private let state = Mutex(State())

    /// A new one-time login token for `user`.
    func link(user: String, peer: PeerCredentials, steer: Bool) -> String {
        let token = Self.randomToken()
        let now = ContinuousClock.now
        state.withLock { state in
            Self.admit(Link(steer: steer, user: user, peer: peer, expires: now + Self.linkLifetime), as: token, into: &state.links,
                       limits: (Self.maxLinks, Self.maxLinksPerUser), now: now, expires: \.expires, owner: \.peer.uid)
        }
        return token
    }

    /// Trades a login token, once, for a new session id; nil when the token
    /// is unknown, used or expired.
    func redeem(_ token: String) -> String? {
        let now = ContinuousClock.now
        return state.withLock { state -> String? in
            guard let link = state.links.removeValue(forKey: token), link.expires > now else { return nil }
            let id = Self.randomToken()
            Self.admit(Session(steer: link.steer, user: link.user, peer: link.peer, expires: now + Self.sessionLifetime),
                       as: id, into: &state.sessions, limits: (Self.maxSessions, Self.maxSessionsPerUser), now: now,
                       expires: \.expires, owner: \.peer.uid)
            return id
        }
    }

    /// Adds `value`, first dropping what has expired; at the owner's share,
    /// the owner's entry that expires soonest goes; at the total, that of
    /// the owner holding the most.
    private static func admit<Value>(_ value: Value, as key: String, into entries: inout [String: Value],
                                     limits: (total: Int, perOwner: Int), now: ContinuousClock.Instant,
                                     expires: (Value) -> ContinuousClock.Instant, owner: (Value) -> uid_t) {
        entries = entries.filter { expires($0.value) > now }
        var held: [uid_t: Int] = [:]
        for entry in entries.values { held[owner(entry), default: 0] += 1 }
        let newOwner = owner(value)
        var evicted: uid_t?
        if held[newOwner, default: 0] >= limits.perOwner {
            evicted = newOwner
        } else if entries.count >= limits.total {
            evicted = held.max { $0.value < $1.value }?.key
        }
        if let evicted, let oldest = entries.filter({ owner($0.value) == evicted }).min(by: { expires($0.value) < expires($1.value) }) {
            entries.removeValue(forKey: oldest.key)
        }
        entries[key] = value
    }

    func session(_ id: String) -> Session? {
        let now = ContinuousClock.now
        return state.withLock { state in
            guard let session = state.sessions[id] else { return nil }
            guard session.expires > now else {
                state.sessions.removeValue(forKey: id)
                return nil
            }
            return session
        }
    }

    func end(_ id: String) {
        _ = state.withLock { $0.sessions.removeValue(forKey: id) }
    }

    /// Whether `text` could be a token `randomToken` made: 64 lowercase hex
    /// digits. Checked before any lookup, so a hostile header of any size
    /// or bytes is refused as malformed rather than hashed and searched.
    static func isWellFormed(_ text: Substring) -> Bool {
        text.utf8.count == 64 && text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// 256 bits from the system's CSPRNG (getrandom), as hex.
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(format: "%016llx", generator.next() as UInt64) }.joined()
    }
}
