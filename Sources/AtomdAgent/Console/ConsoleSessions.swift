import Foundation
import Synchronization

/// The web console's login links and browser sessions. Nothing is written
/// to disk: an agent restart signs everyone out, and no password or token
/// can be read from a file.
final class ConsoleSessions: Sendable {
    /// What a signed-in browser may do, fixed when its link was made.
    struct Session: Sendable {
        /// Sent back in `X-CSRF-Token` with every POST.
        var csrf: String
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
    /// Bounds on what callers can make the agent hold; the oldest goes first.
    static let maxLinks = 64, maxSessions = 256

    private let state = Mutex(State())

    /// A new one-time login token for `user`.
    func link(user: String, peer: PeerCredentials, steer: Bool) -> String {
        let token = Self.randomToken()
        let now = ContinuousClock.now
        state.withLock { state in
            Self.admit(Link(steer: steer, user: user, peer: peer, expires: now + Self.linkLifetime), as: token, into: &state.links,
                       limit: Self.maxLinks, now: now, expires: \.expires)
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
            Self.admit(Session(csrf: Self.randomToken(), steer: link.steer, user: link.user, peer: link.peer, expires: now + Self.sessionLifetime),
                       as: id, into: &state.sessions, limit: Self.maxSessions, now: now, expires: \.expires)
            return id
        }
    }

    /// Adds `value`, first dropping what has expired and, at `limit`, the
    /// entry that expires soonest.
    private static func admit<Value>(_ value: Value, as key: String, into entries: inout [String: Value], limit: Int,
                                     now: ContinuousClock.Instant, expires: (Value) -> ContinuousClock.Instant) {
        entries = entries.filter { expires($0.value) > now }
        if entries.count >= limit, let oldest = entries.min(by: { expires($0.value) < expires($1.value) }) {
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

    /// 256 bits from the system's CSPRNG (getrandom), as hex.
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(format: "%016llx", generator.next() as UInt64) }.joined()
    }

    /// Equal strings, in time that does not depend on where they differ.
    static func same(_ a: String, _ b: String) -> Bool {
        let left = Array(a.utf8), right = Array(b.utf8)
        guard left.count == right.count else { return false }
        return zip(left, right).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
