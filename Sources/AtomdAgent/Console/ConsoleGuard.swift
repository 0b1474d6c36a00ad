import HTTPTypes
import Hummingbird

/// The console's doors, checked before any route runs:
/// - the Host header must name this server (see `ConsoleEndpoint.accepts`);
/// - an Origin, when sent, must be this server as the request named it;
/// - outside the page, its assets and `/api/login`, `Authorization: Bearer
///   SESSION` must name a live session (401 otherwise; a cookie counts for
///   nothing);
/// - a POST must come from a session that may steer (403 otherwise).
///
/// No CSRF token: the session itself travels in a header that only the
/// console's own script knows the value of. Another page cannot read it
/// (sessionStorage is per origin, and the port is part of the origin), the
/// browser never adds it on its own (unlike a cookie, which it sends to
/// every port of 127.0.0.1), and a page on another origin cannot even set
/// it without a CORS preflight, which gets no Access-Control-Allow-* here.
struct ConsoleGuard: RouterMiddleware {
    let sessions: ConsoleSessions
    let endpoint: ConsoleEndpoint
    /// Asked again on every request: a user removed from api.group (or
    /// api.admins) loses the console at once, not when the session ends.
    let agent: Agent

    /// Reachable without a session: the page and its assets hold no data,
    /// and `/api/login` is how a one-time token becomes a session.
    static let open: Set<String> = ["/", "/login", "/console.js", "/console.css", "/api/login"]

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
            let id = try Self.sessionID(in: request.headers)
            guard let session = sessions.session(id) else {
                throw ConsoleRefusal(.unauthorized, "the session has ended or was never signed in",
                                     hint: "run `atomd console` and open the link it prints")
            }
            let reads = request.method == .get || request.method == .head || request.uri.path == "/api/logout"
            guard reads || session.steer else {
                throw ConsoleRefusal(.forbidden, "\(session.user) may read but not steer this agent",
                                     hint: "ask for membership in the agent's api.group")
            }
            guard await agent.accessPolicy.allows(session.peer, readOnly: reads) else {
                throw ConsoleRefusal(.forbidden, "\(session.user) may no longer \(reads ? "read from" : "steer") this agent",
                                     hint: "ask for membership in the agent's api.group")
            }
            context.session = session
            context.sessionID = id
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as ConsoleRefusal {
            throw error
        } catch let error as HTTPResponseError {
            // The router's own answers (404, 405) carry the headers too.
            response = try error.response(from: request, context: context)
        }
        response.headers.append(contentsOf: Self.securityHeaders)
        return response
    }

    /// The session id of `Authorization: Bearer ID`, or a 401 saying what is
    /// wrong with the header. Exactly one such header, in exactly that form:
    /// anything else (two of them, another scheme, a value of the wrong size
    /// or alphabet) is refused before any lookup.
    static func sessionID(in headers: HTTPFields) throws -> String {
        let values = headers[values: .authorization]
        guard !values.isEmpty else {
            throw ConsoleRefusal(.unauthorized, "not signed in", hint: "run `atomd console` and open the link it prints")
        }
        let prefix = "Bearer "
        guard values.count == 1, let value = values.first, value.hasPrefix(prefix),
              ConsoleSessions.isWellFormed(value.dropFirst(prefix.count)) else {
            throw ConsoleRefusal(.unauthorized, "the Authorization header is not `Bearer SESSION` with a session this console made",
                                 hint: "sign in again: run `atomd console` and open the link it prints")
        }
        return String(value.dropFirst(prefix.count))
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
