import AtomdTestSupport
import Foundation
import Testing

/// The console's doors, tried with curl as a hostile page or user would:
/// no session header, a cookie instead of it, a used link, a malformed or
/// oversized header, a forged Origin, a rebinding Host, a CORS preflight,
/// a read-only user steering.
@Suite struct ConsoleSecurityTests {
    struct Reply {
        var status: Int
        var headers: String
        var body: String

        /// Whether any header of the answer is `name` (case-insensitive).
        func has(_ name: String) -> Bool {
            headers.split(separator: "\r\n").contains { $0.lowercased().hasPrefix(name.lowercased() + ":") }
        }

        /// The body as a JSON object, if it is one.
        var object: [String: Any]? { try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] }
    }

    /// `http://127.0.0.1:PORT` of a login link.
    static func base(of link: String) throws -> String {
        String(link[..<(try #require(link.range(of: "/login")).lowerBound)])
    }

    /// The one-time token of a login link, from its #fragment.
    static func token(of link: String) throws -> String {
        String(link[(try #require(link.range(of: "/login#token=")).upperBound)...])
    }

    /// The header that carries a session.
    static func bearer(_ session: String) -> String { "Authorization: Bearer \(session)" }

    /// One request to the console; `-i` output split into status, headers and body.
    static func request(_ url: String, method: String = "GET", headers: [String] = [], body: String? = nil,
                        extra: [String] = []) throws -> Reply {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["curl", "-sS", "-i", "--max-time", "20", "-X", method] + extra + headers.flatMap { ["-H", $0] }
            + (method == "POST" ? ["--data", body ?? "{}"] : []) + [url]
        let output = Pipe()
        process.standardOutput = output
        // A refused connection is status 0; curl's own complaint is not needed.
        process.standardError = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let parts = text.components(separatedBy: "\r\n\r\n")
        let head = parts.first ?? ""
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        return Reply(status: status, headers: head, body: parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    /// A link from `atomd console --json`, as `user` (nil: root).
    static func link(_ agent: AgentProcess, asUser: uid_t? = nil, account: TestUsers.Account? = nil) async throws -> (url: String, steer: Bool) {
        let result = try await AtomdProcess.run(["console", "--json", "--home", agent.home], asUser: asUser, account: account)
        try #require(result.status == 0, "atomd console failed: \(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        return (try #require(object["url"] as? String), try #require(object["steer"] as? Bool))
    }

    /// Trades a link's token at `POST /api/login`, as the page's script does.
    static func redeem(_ link: String, extra: [String] = []) throws -> Reply {
        let token = try Self.token(of: link)
        return try request(try base(of: link) + "/api/login", method: "POST", headers: ["Content-Type: application/json"],
                           body: #"{"token":"\#(token)"}"#, extra: extra)
    }

    /// Signs in with a fresh link: the console's base URL and the session id
    /// its requests carry in `Authorization: Bearer`.
    static func signIn(_ agent: AgentProcess, asUser: uid_t? = nil, account: TestUsers.Account? = nil) async throws -> (base: String, session: String) {
        let (url, _) = try await link(agent, asUser: asUser, account: account)
        let login = try redeem(url)
        #expect(login.status == 200, "\(login.body)")
        // No cookie, ever: the session is in the body, for the page to keep.
        #expect(!login.has("Set-Cookie"), "\(login.headers)")
        let session = try #require(login.object?["session"] as? String, "\(login.body)")
        return (try base(of: url), session)
    }

    /// Submits a job whose one step runs until HOME/go exists; returns its run once running.
    static func heldRun(_ agent: AgentProcess) async throws -> String {
        try agent.drop("held.yaml", """
            version: 1
            name: held
            steps:
              - { id: wait, timeout: 1m, run: "while [ ! -e \(agent.home)/go ]; do sleep 0.05; done" }
            """)
        return try await AgentControlTests().waitForRun(status: "running", agent)
    }

    static func startAgent(publicRead: Bool = false) async throws -> AgentProcess {
        let agent = try AgentProcess.start(config: "api:\n  listen: 127.0.0.1:0\n  public_read: \(publicRead)\n")
        try await agent.waitForLog("ready:")
        return agent
    }

    @Test func withoutTheSessionHeaderOnlyThePageAndTheLoginAnswer() async throws {
        let agent = try await Self.startAgent()
        defer { _ = agent.stop() }
        let (url, steer) = try await Self.link(agent)
        #expect(steer)
        #expect(url.contains("/login#token="), "the token is not in the link's fragment: \(url)")
        let base = try Self.base(of: url)
        for path in ["/api/runs", "/api/healthz", "/api/session", "/api/plugins", "/api/runs/x/events", "/nowhere"] {
            #expect(try Self.request(base + path).status == 401, "\(path) without a session")
        }
        // The page and the login page are the same static text: no data, no session.
        let page = try Self.request(base + "/"), landing = try Self.request(base + "/login")
        #expect(page.status == 200 && page.headers.contains("text/html") && landing.body == page.body)
        // A made-up token, a body that is not the expected JSON: refused, clearly.
        let forged = try Self.request(base + "/api/login", method: "POST", body: #"{"token":"forged"}"#)
        #expect(forged.status == 401 && forged.body.contains("used or has expired"), "\(forged.body)")
        let garbage = try Self.request(base + "/api/login", method: "POST", body: "not json")
        #expect(garbage.status == 400, "\(garbage.body)")
        let huge = try Self.request(base + "/api/login", method: "POST", body: String(repeating: "a", count: 100_000))
        #expect(huge.status == 413 || huge.status == 400, "\(huge.status) \(huge.body)")
        // A link is good once.
        let first = try Self.redeem(url)
        #expect(first.status == 200 && !first.has("Set-Cookie"), "\(first.headers)")
        let session = try #require(first.object?["session"] as? String)
        #expect(first.object?["user"] as? String == "root" && first.object?["steer"] as? Bool == true)
        #expect(try Self.redeem(url).status == 401)
        // With the header, the API answers; the page still holds no session.
        #expect(try Self.request(base + "/api/runs", headers: [Self.bearer(session)]).status == 200)
        let signedIn = try Self.request(base + "/", headers: [Self.bearer(session)])
        #expect(signedIn.status == 200 && !signedIn.body.contains(session) && !signedIn.has("Set-Cookie"))
        // The session as a cookie, as the console used to send it: nothing.
        for cookie in ["Cookie: atomd_session=\(session)", "Cookie: session=\(session); atomd_session=\(session)"] {
            let old = try Self.request(base + "/api/session", headers: [cookie])
            #expect(old.status == 401 && !old.body.contains("steer"), "a cookie was accepted: \(old.status) \(old.body)")
        }
        // The console's address is not the control API's: no login link is handed out there.
        #expect(try Self.request(base + "/console/login", method: "POST", headers: [Self.bearer(session)]).status == 404)
    }

    @Test func postsNeedTheSessionHeaderAndTheConsolesOwnOriginAndHost() async throws {
        let agent = try await Self.startAgent()
        defer { _ = agent.stop() }
        let runID = try await Self.heldRun(agent)
        let (base, session) = try await Self.signIn(agent)
        let pause = base + "/api/runs/\(runID)/pause"
        let port = try #require(base.split(separator: ":").last)
        let refusals: [(String, [String], Int)] = [
            ("no session header", [], 401),
            ("only the session cookie", ["Cookie: atomd_session=\(session)"], 401),
            ("another session", [Self.bearer(String(session.reversed()))], 401),
            ("a forged Origin", [Self.bearer(session), "Origin: http://evil.example"], 403),
            ("another port's Origin", [Self.bearer(session), "Origin: http://127.0.0.1:1"], 403),
            ("a rebinding Host", [Self.bearer(session), "Host: evil.example:\(port)"], 403),
        ]
        for (what, headers, status) in refusals {
            let reply = try Self.request(pause, method: "POST", headers: headers)
            #expect(reply.status == status, "a POST with \(what): \(reply.status) \(reply.body)")
        }
        // A page on another port must ask before it may send Authorization
        // (a CORS preflight): it is refused, and nothing ever allows it.
        for origin in ["http://127.0.0.1:1", base] {
            let preflight = try Self.request(pause, method: "OPTIONS", headers: [
                "Origin: \(origin)", "Access-Control-Request-Method: POST", "Access-Control-Request-Headers: authorization"])
            #expect(!(200..<300).contains(preflight.status) && !preflight.headers.lowercased().contains("access-control-allow"),
                    "a preflight from \(origin) was answered: \(preflight.headers)")
        }
        // Nothing was paused by the refused requests.
        let shown = try AgentControlTests.curl(agent.home + "/atomd.sock", "/runs/\(runID)")
        #expect(shown.contains("\"status\":\"running\""))
        // With the header, from the console's own origin, it goes through.
        let allowed = try Self.request(pause, method: "POST", headers: [Self.bearer(session), "Origin: \(base)"])
        #expect(allowed.status == 202, "\(allowed.body)")
        #expect(allowed.headers.contains("Content-Security-Policy: default-src 'none'"))
        #expect(allowed.headers.contains("X-Frame-Options: DENY"))
        #expect(!allowed.headers.lowercased().contains("access-control-allow"))
        FileManager.default.createFile(atPath: agent.home + "/go", contents: nil)
        _ = try await AgentControlTests().waitForRun(status: "paused", agent)
    }

    /// Whatever a client puts in Authorization: a 401 that says what is
    /// wrong, or, past the server's header limits, a refusal of the request;
    /// the agent goes on serving either way.
    @Test func aMalformedOrOversizedSessionHeaderIsRefusedClearly() async throws {
        let agent = try await Self.startAgent()
        defer { _ = agent.stop() }
        let (base, session) = try await Self.signIn(agent)
        let malformed = [
            "Authorization: Bearer",
            "Authorization: Bearer ",
            "Authorization: Basic cm9vdDpyb290",
            "Authorization: bearer\(session)",
            "Authorization: Bearer \(session)0",
            "Authorization: Bearer \(session.uppercased())",
            "Authorization: Bearer \(String(session.dropLast()))ü",
            "Authorization: Bearer \(String(repeating: "0", count: 64))",
            "Authorization: Bearer \(String(repeating: "a", count: 15_000))",
            "Authorization: Bearer \(session), Bearer \(session)",
        ]
        for header in malformed {
            let reply = try Self.request(base + "/api/session", headers: [header])
            #expect(reply.status == 401, "\(header.prefix(60)): \(reply.status) \(reply.body)")
            let error = reply.object?["error"] as? String ?? ""
            #expect(error.contains("Authorization") || error.contains("session has ended"), "\(header.prefix(60)): \(reply.body)")
            #expect(!reply.body.contains(session))
        }
        // The same header twice, each one well formed: one credential or none.
        let twice = try Self.request(base + "/api/session", headers: [Self.bearer(session), Self.bearer(session)])
        #expect(twice.status == 401, "\(twice.body)")
        // Beyond the server's header limit (16 KiB a field): refused before the console sees it.
        let oversized = try Self.request(base + "/api/session", headers: ["Authorization: Bearer " + String(repeating: "a", count: 40_000)])
        #expect(oversized.status != 200 && !oversized.body.contains(session), "\(oversized.status)")
        // Nothing crashed: the agent runs and the real session still works.
        #expect(agent.running.process.isRunning)
        let fine = try Self.request(base + "/api/session", headers: [Self.bearer(session)])
        #expect(fine.status == 200 && fine.object?["user"] as? String == "root", "\(fine.body)")
    }

    @Test func aReadOnlyUserWatchesButCannotSteer() async throws {
        let agent = try await Self.startAgent(publicRead: true)
        defer { _ = agent.stop() }
        // The agent's home must be reachable by nobody for the socket to be.
        chmod(agent.home, 0o755)
        let (_, steer) = try await Self.link(agent, asUser: 65534)
        #expect(!steer)
        let (base, session) = try await Self.signIn(agent, asUser: 65534)
        #expect(try Self.request(base + "/api/runs", headers: [Self.bearer(session)]).status == 200)
        let refused = try Self.request(base + "/api/runs/none/pause", method: "POST", headers: [Self.bearer(session)])
        #expect(refused.status == 403 && refused.body.contains("may read but not steer"), "\(refused.body)")
        // Signing out ends the session.
        #expect(try Self.request(base + "/api/logout", method: "POST", headers: [Self.bearer(session)]).status == 204)
        #expect(try Self.request(base + "/api/runs", headers: [Self.bearer(session)]).status == 401)
    }

    /// Another user the socket admits (here, anyone, by `public_read`) asks
    /// for more links and sessions than their share: only their own oldest
    /// go, never root's session or root's pending link.
    @Test func aFloodOfLinksAndSessionsPushesOutOnlyTheFloodersOwn() async throws {
        let agent = try await Self.startAgent(publicRead: true)
        defer { _ = agent.stop() }
        chmod(agent.home, 0o755)
        let (base, rootSession) = try await Self.signIn(agent)
        let (rootLink, _) = try await Self.link(agent)
        var own: [String] = []
        // 4 more sessions and links than the 16 and 8 a user may hold.
        for _ in 0..<20 { await own.append(try Self.signIn(agent, asUser: 65534).session) }
        for _ in 0..<12 { _ = try await Self.link(agent, asUser: 65534) }
        #expect(try Self.request(base + "/api/session", headers: [Self.bearer(rootSession)]).status == 200)
        #expect(try Self.redeem(rootLink).status == 200)
        // The flooder's oldest session went, their newest is still good.
        #expect(try Self.request(base + "/api/session", headers: [Self.bearer(own[0])]).status == 401)
        #expect(try Self.request(base + "/api/session", headers: [Self.bearer(own[own.count - 1])]).status == 200)
    }

    /// The router's own answers (404) carry the security headers too.
    @Test func theRoutersOwnAnswersCarryTheSecurityHeaders() async throws {
        let agent = try await Self.startAgent()
        defer { _ = agent.stop() }
        let (base, session) = try await Self.signIn(agent)
        let missing = try Self.request(base + "/api/no-such-route", method: "POST", headers: [Self.bearer(session)])
        #expect(missing.status == 404 && missing.has("Content-Security-Policy") && missing.has("X-Frame-Options"), "\(missing.headers)")
    }

    /// With `api.tls`: HTTPS, no cookie, no plain HTTP; a key other
    /// users may read is refused before anything is served.
    @Test func theConsoleOverTLS() async throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().path + "/AtomdHTTPTests/Fixtures/tls"
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        for name in ["server.pem", "server.key"] { try FileManager.default.copyItem(atPath: fixtures + "/" + name, toPath: home + "/" + name) }
        chmod(home + "/server.key", 0o644)
        let config = "api:\n  listen: 127.0.0.1:0\n  tls: { cert: server.pem, key: server.key }\n"
        let exposed = try AgentProcess.start(home: home, config: config)
        #expect(exposed.waitForExit() == 4)
        #expect(exposed.log.contains("api.tls.key: \(home)/server.key may be read by other users (mode 644)") && exposed.log.contains("chmod 600"),
                "\(exposed.log)")
        chmod(home + "/server.key", 0o600)
        let agent = try AgentProcess.start(home: home, config: config)
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        let (url, _) = try await Self.link(agent)
        #expect(url.hasPrefix("https://127.0.0.1:"))
        let base = try Self.base(of: url)
        let trust = ["--cacert", fixtures + "/ca.pem"]
        let login = try Self.redeem(url, extra: trust)
        #expect(login.status == 200 && !login.has("Set-Cookie"), "\(login.headers)")
        let session = try #require(login.object?["session"] as? String)
        #expect(try Self.request(base + "/api/runs", headers: [Self.bearer(session)], extra: trust).status == 200)
        // Plain HTTP on the same port gets no answer from the console.
        #expect(try Self.request(base.replacingOccurrences(of: "https://", with: "http://") + "/api/runs", headers: [Self.bearer(session)]).status == 0)
        // Without the CA, curl refuses the certificate: the console is not reached in clear.
        #expect(try Self.request(base + "/api/runs").status == 0)
    }

    @Test func anAgentWithoutAConsoleSaysHowToGetOne() async throws {
        let agent = try AgentProcess.start()
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        let result = try await AtomdProcess.run(["console", "--home", agent.home])
        #expect(result.status == 2)
        #expect(result.stderr.contains("serves no console") && result.stderr.contains("api.listen"))
    }
}
