import HTTPTypes
import Hummingbird

/// The console's doors, checked before any route runs:
/// - the Host header must name this server (see `ConsoleEndpoint.accepts`);
/// - an Origin, when sent, must be this server as the request named it;
/// - outside `/login` and the static assets, the session cookie must name a
///   live session (401 otherwise);
/// - a POST must carry the session's CSRF token in `X-CSRF-Token` and come
///   from a session that may steer (403 otherwise).
struct ConsoleGuard: RouterMiddleware {
    let sessions: ConsoleSessions
    let endpoint: ConsoleEndpoint
    /// Asked again on every request: a user removed from api.group (or
    /// api.admins) loses the console at once, not when the session ends.
    let agent: Agent

    static let cookie = "atomd_session"
    static let csrfHeader = HTTPField.Name("X-CSRF-Token")
    /// Reachable without a session: they hold no data.
    static let open: Set<String> = ["/login", "/console.js", "/console.css"]

    func handle(_ request: Request, context: ConsoleContext,
                next: (Request, ConsoleContext) async throws -> Response) async throws -> Response {
        guard let host = request.head.authority?.lowercased(), endpoint.accepts(host: host) else {
            throw ConsoleRefusal(.forbidden, "this console does not answer to the name \(request.head.authority ?? "(none)")",
                                 hint: "open the link `atomd console` prints")
        }
        if let origin = request.headers[.origin], origin.lowercased() != endpoint.scheme + "://" + host {
            throw ConsoleRefusal(.forbidden, "requests from \(origin) are refused")
        }
        var context = context
        if !Self.open.contains(request.uri.path) {
            guard let id = request.cookies[Self.cookie]?.value, let session = sessions.session(id) else {
                throw ConsoleRefusal(.unauthorized, "not signed in", hint: "run `atomd console` and open the link it prints")
            }
            let reads = request.method == .get || request.method == .head || request.uri.path == "/api/logout"
            if request.method != .get && request.method != .head {
                guard let token = Self.csrfHeader.flatMap({ request.headers[$0] }), ConsoleSessions.same(token, session.csrf) else {
                    throw ConsoleRefusal(.forbidden, "the request carries no valid CSRF token", hint: "reload the page")
                }
                guard session.steer || request.uri.path == "/api/logout" else {
                    throw ConsoleRefusal(.forbidden, "\(session.user) may read but not steer this agent",
                                         hint: "ask for membership in the agent's api.group")
                }
            }
            guard await agent.accessPolicy.allows(session.peer, readOnly: reads) else {
                throw ConsoleRefusal(.forbidden, "\(session.user) may no longer \(reads ? "read from" : "steer") this agent",
                                     hint: "ask for membership in the agent's api.group")
            }
            context.session = session
            context.sessionID = id
        }
        var response = try await next(request, context)
        response.headers.append(contentsOf: Self.securityHeaders)
        return response
    }

    /// Scripts, styles and data from this server only, no framing, no referrer.
    static let securityHeaders: [HTTPField] = [
        ("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
            + "img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
        ("Cache-Control", "no-store"),
    ].compactMap { name, value in HTTPField.Name(name).map { HTTPField(name: $0, value: value) } }
}

/// A refusal: JSON for the API, a short page for a browser's navigation.
struct ConsoleRefusal: Error, HTTPResponseError {
    var status: HTTPResponse.Status
    var message: String
    var hint: String?

    init(_ status: HTTPResponse.Status, _ message: String, hint: String? = nil) {
        self.status = status
        self.message = message
        self.hint = hint
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response: Response
        if request.uri.path.hasPrefix("/api/") {
            response = try APIError(status, message, hint: hint).response(from: request, context: context)
        } else {
            let page = ConsoleAssets.refusalPage(title: "\(status.code) \(status.reasonPhrase)", message: message, hint: hint)
            response = Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: page)))
        }
        response.headers.append(contentsOf: ConsoleGuard.securityHeaders)
        return response
    }
}
