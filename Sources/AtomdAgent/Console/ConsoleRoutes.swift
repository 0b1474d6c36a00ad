import Foundation
import HTTPTypes
import Hummingbird

/// The console's routes: the login link, the page and its two assets, and
/// under `/api/` the control API's own routes (README "Control API"), plus
/// the session's CSRF token and sign-out.
enum ConsoleRoutes {
    static func router(agent: Agent, console: Console) -> Router<ConsoleContext> {
        let router = Router(context: ConsoleContext.self)
        router.add(middleware: ConsoleGuard(sessions: console.sessions, endpoint: console.endpoint, agent: agent))
        router.get("login") { request, _ in
            guard let token = request.uri.queryParameters["token"].map(String.init), let id = console.sessions.redeem(token) else {
                throw ConsoleRefusal(.unauthorized, "this login link has been used or has expired", hint: "run `atomd console` for a new one")
            }
            // The token leaves the address bar at once.
            return Response(status: .seeOther, headers: [
                .location: "/", .setCookie: console.cookie(id, maxAge: Int(ConsoleSessions.sessionLifetime.components.seconds)),
            ])
        }
        router.get("/") { _, _ in asset(ConsoleAssets.page, type: "text/html; charset=utf-8") }
        router.get("console.js") { _, _ in asset(ConsoleAssets.script, type: "text/javascript; charset=utf-8") }
        router.get("console.css") { _, _ in asset(ConsoleAssets.style, type: "text/css; charset=utf-8") }
        let api = router.group("api")
        ControlRoutes.add(to: api, agent: agent)
        api.get("session") { _, context in
            guard let session = context.session else { throw ConsoleRefusal(.unauthorized, "not signed in") }
            return try ControlRoutes.encoded(SessionInfo(user: session.user, steer: session.steer, csrf: session.csrf))
        }
        api.post("logout") { _, context in
            if let id = context.sessionID { console.sessions.end(id) }
            return Response(status: .noContent, headers: [.setCookie: console.cookie("", maxAge: 0)])
        }
        return router
    }

    private static func asset(_ text: String, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// `GET /api/session`: who is signed in, and the token their POSTs carry.
    struct SessionInfo: Encodable {
        var user: String
        var steer: Bool
        var csrf: String
    }
}

/// The console's state in the agent: its address and its sessions.
public final class Console: Sendable {
    let endpoint: ConsoleEndpoint
    let sessions = ConsoleSessions()

    init(endpoint: ConsoleEndpoint) {
        self.endpoint = endpoint
    }

    /// The session cookie's header. HttpOnly: no script reads it;
    /// SameSite=Strict: no other site's page sends it; Secure over HTTPS:
    /// never sent in clear.
    func cookie(_ value: String, maxAge: Int) -> String {
        "\(ConsoleGuard.cookie)=\(value); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(maxAge)" + (endpoint.tls == nil ? "" : "; Secure")
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
