import AtomdTestSupport
import Foundation
import Glibc
import Testing

/// Finding 7 of the hardening issue, against a real agent: names checked
/// byte by byte, requests that never finish arriving are cut off, and
/// `api.run_as` limits whom a job may act as.
@Suite struct AgentAPIHardeningTests {
    func submit(_ agent: AgentProcess, name: String, _ yaml: String) throws -> String {
        let file = try AtomdProcess.temporaryJob(yaml)
        return try AgentControlTests.curl(agent.home + "/atomd.sock", "/jobs?name=" + name, extra: ["--data-binary", "@" + file])
    }

    @Test func aNameWithANulOrALineBreakIsRefusedAndNothingIsWritten() async throws {
        let agent = try AgentProcess.start()
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        let job = "version: 1\nname: t\nsteps:\n  - { id: a, uses: test.noop }\n"
        for name in ["a%00b.yaml", "a%0Ab.yaml", "a%0D.yaml", "..%2Fescape.yaml", ".hidden.yaml", "x.yaml%00.txt"] {
            let answer = try submit(agent, name: name, job)
            #expect(answer.contains("is not a job file name"), "\(name): \(answer)")
        }
        for directory in ["incoming", "processing", "done", "failed"] {
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: agent.spool + "/" + directory)) ?? []).isEmpty, "\(directory)")
        }
        #expect(try submit(agent, name: "fine.yaml", job).contains("fine.yaml"))
    }

    /// SQLite reads a negative LIMIT as none: `limit=-1` listed every run
    /// the journal holds.
    @Test func aListingsLimitOutOfRangeIsRefused() async throws {
        let agent = try AgentProcess.start()
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        let socket = agent.home + "/atomd.sock"
        for limit in ["-1", "0", "1001", "9223372036854775808", "ten"] {
            let answer = try AgentControlTests.curl(socket, "/runs?limit=" + limit)
            #expect(answer.contains("is not a number from 1 to 1000"), "\(limit): \(answer)")
        }
        #expect(try AgentControlTests.curl(socket, "/runs?limit=1000").contains("\"runs\""))
        let cli = try await AtomdProcess.run(["runs", "--home", agent.home, "--limit=-1"])
        #expect(cli.status == 2 && cli.stderr.contains("--limit must be from 1 to 1000"), "\(cli)")
    }

    /// A client that sends half a request and waits: before, the agent kept
    /// such connections for ever, and enough of them filled its queue.
    @Test(.timeLimit(.minutes(1))) func halfSentRequestsAreCutOffAndDoNotBlockOthers() async throws {
        let agent = try AgentProcess.start()
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        let socket = agent.home + "/atomd.sock"
        let started = ContinuousClock.now
        let stalled = try (0..<200).map { _ in try Self.connect(socket, sending: "GET /runs HTTP/1.1\r\nHost: atomd\r\nX-Slow: ") }
        defer { stalled.forEach { close($0) } }
        // The agent still answers while they wait.
        let answer = try AgentControlTests.curl(socket, "/healthz")
        #expect(answer.contains("\"status\":\"ok\""), "\(answer)")
        // Each is closed by the agent after the idle timeout (10 s).
        for fd in stalled { #expect(Self.waitForClose(fd, within: .seconds(30)), "a half-sent request was kept open") }
        #expect(ContinuousClock.now - started >= .seconds(9), "closed before the idle timeout")
    }

    /// `api.run_as` limits the jobs of submitters other than root and the
    /// agent's user: through the socket (a member of `api.group`) as
    /// through the spool (a sidecar naming the caller, written by the agent).
    @Test(.timeLimit(.minutes(2))) func runAsLimitsTheUsersAJobMayActAs() async throws {
        let submitter = try TestUsers.submitter
        let agent = try AgentProcess.start(config: "api: { group: \(TestUsers.apiGroup), run_as: [nobody] }\n")
        defer { _ = agent.stop() }
        try await agent.waitForLog("ready:")
        chmod(agent.home, 0o755)
        func submit(_ name: String, _ yaml: String) throws -> String {
            let file = try AtomdProcess.temporaryJob(yaml)
            return try AgentControlTests.curl(agent.home + "/atomd.sock", "/jobs?name=" + name, prefix: submitter.setpriv,
                                              extra: ["--data-binary", "@" + file])
        }
        let asRoot = "version: 1\nname: t\nsteps:\n  - { id: a, run: id -un }\n"
        let refused = try submit("root.yaml", asRoot)
        #expect(refused.contains("api.run_as does not allow") && refused.contains("add user: with one of nobody"), "\(refused)")
        let computed = "version: 1\nname: t\nvars: { who: nobody }\nsteps:\n  - { id: a, run: { script: id -un, user: \"${{ vars.who }}\" } }\n"
        #expect(try submit("computed.yaml", computed).contains("computes its user:"))
        let plugin = "version: 1\nname: t\nsteps:\n  - { id: a, uses: test.noop }\n"
        #expect(try submit("plugin.yaml", plugin).contains("runs a plugin atom as"))
        let accepted = try submit("nobody.yaml", "version: 1\nname: t\nsteps:\n  - { id: a, run: { script: id -un, user: nobody } }\n")
        #expect(accepted.contains("nobody.yaml"), "\(accepted)")
        // Root's own job, dropped into the spool, is not limited.
        try agent.drop("dropped.yaml", asRoot)
        let filed = try await agent.waitForFiled(2)
        #expect(filed.done == ["dropped.yaml", "nobody.yaml"] && filed.failed.isEmpty, "\(filed)")
        #expect(agent.jobs(in: "incoming").isEmpty)
    }

    static func connect(_ path: String, sending text: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.prefix(buffer.count - 1).enumerated() { buffer[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(connected == 0, "cannot connect: \(String(cString: strerror(errno)))")
        _ = text.withCString { write(fd, $0, strlen($0)) }
        return fd
    }

    /// Whether the peer closes `fd` (a read returns 0, or the connection resets) within `limit`.
    static func waitForClose(_ fd: Int32, within limit: Duration) -> Bool {
        let deadline = ContinuousClock.now + limit
        var buffer = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 1000) > 0 else { continue }
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { return true }
        }
        return false
    }
}
