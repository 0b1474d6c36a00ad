import Foundation
import HTTPTypes
import Hummingbird

/// The console's routes: the page (at `/` and at `/login`, where the
/// one-time link lands) and its two assets, and under `/api/` the control
/// API's own routes (README "Control API"), plus sign-in, the session's
/// rights and sign-out.
enum ConsoleRoutes {
    static func router(agent: Agent, console: Console) -> Router<ConsoleContext> {
        let router = Router(context: ConsoleContext.self)
        router.add(middleware: ConsoleGuard(sessions: console.sessions, endpoint: console.endpoint, agent: agent))
        // The same static page for both: the token of a login link is in its
        // #fragment, which the browser never sends, so the server has nothing
        // to act on here; the page's script trades it at `POST /api/login`.
        // The HTML never holds a session: a page can be cached, saved or
        // read by an extension, the script's sessionStorage less so.
        router.get("/") { _, _ in asset(ConsoleAssets.page, type: "text/html; charset=utf-8") }
        router.get("login") { _, _ in asset(ConsoleAssets.page, type: "text/html; charset=utf-8") }
        router.get("console.js") { _, _ in asset(ConsoleAssets.script, type: "text/javascript; charset=utf-8") }
        router.get("console.css") { _, _ in asset(ConsoleAssets.style, type: "text/css; charset=utf-8") }
        let api = router.group("api")
        ControlRoutes.add(to: api, agent: agent)
        api.post("login") { request, _ in
            // A token is 64 characters; a few KiB is room for any JSON around it.
            let body = try await collect(request, upTo: 4096, within: .seconds(30))
            guard let login = try? JSONDecoder().decode(Login.self, from: Data(buffer: body)) else {
                throw ConsoleRefusal(.badRequest, "the body is not {\"token\": TOKEN}", hint: "open the link `atomd console` prints")
            }
            guard let id = console.sessions.redeem(login.token), let session = console.sessions.session(id) else {
                throw ConsoleRefusal(.unauthorized, "this login link has been used or has expired", hint: "run `atomd console` for a new one")
            }
            // In the body, not a Set-Cookie: the browser keeps nothing on its
            // own, only the page's script does (sessionStorage).
            return try ControlRoutes.encoded(Grant(session: id, user: session.user, steer: session.steer))
        }
        api.get("session") { _, context in
            guard let session = context.session else { throw ConsoleRefusal(.unauthorized, "not signed in") }
            return try ControlRoutes.encoded(SessionInfo(user: session.user, steer: session.steer))
        }
        api.post("logout") { _, context in
            if let id = context.sessionID { console.sessions.end(id) }
            return Response(status: .noContent)
        }
        return router
    }

    private static func asset(_ text: String, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// `POST /api/login`'s body: the one-time token from the link's fragment.
    struct Login: Decodable {
        var token: String
    }

    /// `POST /api/login`'s answer: the session the page sends back in
    /// `Authorization: Bearer SESSION`, and what it may do.
    struct Grant: Encodable {
        var session: String
        var user: String
        var steer: Bool
    }

    /// `GET /api/session`: who is signed in, and whether they may steer.
    struct SessionInfo: Encodable {
        var user: String
        var steer: Bool
    }
}

/// The console's state in the agent: its address and its sessions.
public final class Console: Sendable {
    let endpoint: ConsoleEndpoint
    let sessions = ConsoleSessions()

    init(endpoint: ConsoleEndpoint) {
        self.endpoint = endpoint
    }
}

/// `POST /console/login` on the socket: a one-time link to the console.
public struct ConsoleLink: Codable, Sendable {
    public var url: String
    public var user: String
    public var steer: Bool
    public var expires_at: Date
}

extension Agent {
    /// A login link for the socket's caller, with the rights the socket gives them.
    func consoleLink(for peer: PeerCredentials) throws -> ConsoleLink {
        guard let console else {
            throw APIError(.notFound, "this agent serves no console", hint: "set api.listen: 127.0.0.1:8470 in its configuration and restart it")
        }
        let user = UserDatabase.name(of: peer.uid)
        let steer = accessPolicy.allows(peer, readOnly: false)
        let token = console.sessions.link(user: user, peer: peer, steer: steer)
        return ConsoleLink(url: console.endpoint.loginURL(token: token), user: user, steer: steer,
                           expires_at: Date().addingTimeInterval(Double(ConsoleSessions.linkLifetime.components.seconds)))
    }
}
