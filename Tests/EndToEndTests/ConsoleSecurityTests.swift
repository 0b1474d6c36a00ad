import AtomdTestSupport
import Foundation
import Testing

/// The console's doors, tried with curl as a hostile page or user would:
/// no cookie, a used link, a POST without its CSRF token, a forged Origin,
/// a rebinding Host, a read-only user steering.
@Suite struct ConsoleSecurityTests {
    struct Reply {
        var status: Int
        var headers: String
        var body: String

        /// The `Set-Cookie` header line, if any.
        var setCookie: Substring? { headers.split(separator: "\r\n").first { $0.lowercased().hasPrefix("set-cookie:") } }

        /// `atomd_session=ID`, as a `Cookie:` header sends it back.
        var sessionCookie: String? { setCookie?.split(separator: " ").dropFirst().first.map { String($0.dropLast()) } }
    }

    /// `http://127.0.0.1:PORT` of a login link.
    static func base(of link: String) throws -> String {
        String(link[..<(try #require(link.range(of: "/login")).lowerBound)])
    }

    /// One request to the console; `-i` output split into status, headers and body.
    static func request(_ url: String, method: String = "GET", headers: [String] = [], extra: [String] = []) throws -> Reply {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["curl", "-sS", "-i", "--max-time", "20", "-X", method] + extra + headers.flatMap { ["-H", $0] }
            + (method == "POST" ? ["--data", "{}"] : []) + [url]
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
    static func link(_ agent: AgentProcess, asUser: uid_t? = nil, account: TestUsers.Account? = nil) throws -> (url: String, steer: Bool) {
        let result = try AtomdProcess.run(["console", "--json", "--home", agent.home], asUser: asUser, account: account)
        try #require(result.status == 0, "atomd console failed: \(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        return (try #require(object["url"] as? String), try #require(object["steer"] as? Bool))
    }

    /// Signs in with a fresh link: the session cookie and the CSRF token.
    static func signIn(_ agent: AgentProcess, asUser: uid_t? = nil, account: TestUsers.Account? = nil) throws -> (base: String, cookie: String, csrf: String) {
        let (url, _) = try link(agent, asUser: asUser, account: account)
        let base = try Self.base(of: url)
        let login = try request(url)
        #expect(login.status == 303)
        let line = try #require(login.setCookie)
        #expect(line.contains("HttpOnly") && line.contains("SameSite=Strict") && line.contains("Path=/"))
        let cookie = try #require(login.sessionCookie)
        let session = try request(base + "/api/session", headers: ["Cookie: \(cookie)"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(session.body.utf8)) as? [String: Any], "\(session.body)")
        return (base, cookie, try #require(object["csrf"] as? String))
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

    @Test func withoutASessionEverythingButTheLoginIsRefused() async throws {
        let agent = try await Self.startAgent()
        defer { _ = agent.stop() }
        let (url, steer) = try Self.link(agent)
        #expect(steer)
        let base = try Self.base(of: url)
        for path in ["/", "/api/runs", "/api/healthz", "/api/session", "/api/plugins"] {
            #expect(try Self.request(base + path).status == 401, "\(path) without a cookie")
        }
        #expect(try Self.request(base + "/api/runs", headers: ["Cookie: atomd_session=forged"]).status == 401)
        #expect(try Self.request(base + "/login?token=forged").status == 401)
        #expect(try Self.request(base + "/login").status == 401)
        // The page says what to do, in a page a browser shows.
        let page = try Self.request(base + "/")
        #expect(page.body.contains("atomd console") && page.headers.contains("text/html"))
        // A link is good once.
        #expect(try Self.request(url).status == 303)
        #expect(try Self.request(url).status == 401)
        // The console's address is not the control API's: no login link is handed out there.
        #expect(try Self.request(base + "/console/login", method: "POST").status == 401)
    }

    @Test func postsNeedTheCSRFTokenAndTheConsolesOwnOriginAndHost() async throws {
        let agent = try await Self.startAgent()
        defer { _ = agent.stop() }
        let runID = try await Self.heldRun(agent)
        let (base, cookie, csrf) = try Self.signIn(agent)
        let pause = base + "/api/runs/\(runID)/pause"
        let port = try #require(base.split(separator: ":").last)
        let refusals: [(String, [String])] = [
            ("no CSRF token", ["Cookie: \(cookie)"]),
            ("a wrong CSRF token", ["Cookie: \(cookie)", "X-CSRF-Token: \(String(csrf.reversed()))"]),
            ("a forged Origin", ["Cookie: \(cookie)", "X-CSRF-Token: \(csrf)", "Origin: http://evil.example"]),
            ("another port's Origin", ["Cookie: \(cookie)", "X-CSRF-Token: \(csrf)", "Origin: http://127.0.0.1:1"]),
            ("a rebinding Host", ["Cookie: \(cookie)", "X-CSRF-Token: \(csrf)", "Host: evil.example:\(port)"]),
        ]
        for (what, headers) in refusals {
            let reply = try Self.request(pause, method: "POST", headers: headers)
            #expect(reply.status == 403, "a POST with \(what): \(reply.status) \(reply.body)")
        }
        // Nothing was paused by the refused requests.
        let shown = try AgentControlTests.curl(agent.home + "/atomd.sock", "/runs/\(runID)")
        #expect(shown.contains("\"status\":\"running\""))
        // With all three, it goes through.
        let allowed = try Self.request(pause, method: "POST",
                                       headers: ["Cookie: \(cookie)", "X-CSRF-Token: \(csrf)", "Origin: \(base)"])
        #expect(allowed.status == 202, "\(allowed.body)")
        #expect(allowed.headers.contains("Content-Security-Policy: default-src 'none'"))
        #expect(allowed.headers.contains("X-Frame-Options: DENY"))
        FileManager.default.createFile(atPath: agent.home + "/go", contents: nil)
        _ = try await AgentControlTests().waitForRun(status: "paused", agent)
    }

    @Test func aReadOnlyUserWatchesButCannotSteer() async throws {
        let agent = try await Self.startAgent(publicRead: true)
        defer { _ = agent.stop() }
        // The agent's home must be reachable by nobody for the socket to be.
        chmod(agent.home, 0o755)
        let (_, steer) = try Self.link(agent, asUser: 65534)
        #expect(!steer)
        let (base, cookie, csrf) = try Self.signIn(agent, asUser: 65534)
        #expect(try Self.request(base + "/api/runs", headers: ["Cookie: \(cookie)"]).status == 200)
        let refused = try Self.request(base + "/api/runs/none/pause", method: "POST", headers: ["Cookie: \(cookie)", "X-CSRF-Token: \(csrf)"])
        #expect(refused.status == 403 && refused.body.contains("may read but not steer"), "\(refused.body)")
        // Signing out ends the session.
        #expect(try Self.request(base + "/api/logout", method: "POST", headers: ["Cookie: \(cookie)", "X-CSRF-Token: \(csrf)"]).status == 204)
        #expect(try Self.request(base + "/api/runs", headers: ["Cookie: \(cookie)"]).status == 401)
    }

    /// With `api.tls`: HTTPS, a Secure cookie, no plain HTTP; a key other
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
        let (url, _) = try Self.link(agent)
        #expect(url.hasPrefix("https://127.0.0.1:"))
        let base = try Self.base(of: url)
        let trust = ["--cacert", fixtures + "/ca.pem"]
        let login = try Self.request(url, extra: trust)
        #expect(login.status == 303 && login.headers.contains("SameSite=Strict") && login.headers.contains("; Secure"), "\(login.headers)")
        let cookie = try #require(login.sessionCookie)
        #expect(try Self.request(base + "/api/runs", headers: ["Cookie: \(cookie)"], extra: trust).status == 200)
        // Plain HTTP on the same port gets no answer from the console.
        #expect(try Self.request(base.replacingOccurrences(of: "https://", with: "http://") + "/api/runs", headers: ["Cookie: \(cookie)"]).status == 0)
        // Without the CA, curl refuses the certificate: the console is not reached in clear.
        #expect(try Self.request(base + "/api/runs").status == 0)
    }

    @Test func anAgentWithoutAConsoleSaysHowToGetOne() async throws {
        let agent = try AgentProcess.start()
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        let result = try AtomdProcess.run(["console", "--home", agent.home])
        #expect(result.status == 2)
        #expect(result.stderr.contains("serves no console") && result.stderr.contains("api.listen"))
    }
}
