import Foundation
import Testing

/// A clean stop, with every server busy: a run holding the stop at its step,
/// an event stream open on the socket and one on the console. The agent,
/// then the servers, stop gracefully: no error is logged, the streams end,
/// the socket goes, and the exit status is 0.
@Suite struct AgentStopTests {
    @Test(.timeLimit(.minutes(2))) func aCleanStopLogsNoErrorAndEndsOpenStreams() async throws {
        let agent = try AgentProcess.start(config: "api:\n  listen: 127.0.0.1:0\n")
        try await agent.waitForLog("ready:")
        let runID = try await ConsoleSecurityTests.heldRun(agent)
        let (base, session) = try await ConsoleSecurityTests.signIn(agent)
        let streams = [
            ["--unix-socket", agent.home + "/atomd.sock", "http://atomd/runs/\(runID)/events"],
            ["-H", ConsoleSecurityTests.bearer(session), base + "/api/runs/\(runID)/events"],
        ].enumerated().map { index, arguments -> (Process, String) in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            let output = agent.home + "/stream-\(index).txt"
            process.arguments = ["curl", "-sS", "-N", "--max-time", "60", "-o", output] + arguments
            return (process, output)
        }
        for (stream, _) in streams { try stream.run() }
        // Both streams are open: each has had the run's history.
        let deadline = ContinuousClock.now + .seconds(20)
        for (_, output) in streams {
            while !((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").contains("event: step") {
                try #require(ContinuousClock.now < deadline, "an event stream sent nothing")
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        agent.signal(SIGTERM)
        try await agent.waitForLog("stopping: 1 running")
        FileManager.default.createFile(atPath: agent.home + "/go", contents: nil)
        #expect(agent.waitForExit() == 0)
        for (stream, _) in streams {
            stream.waitUntilExit()
            #expect(stream.terminationStatus == 0, "an event stream did not end cleanly (curl exit \(stream.terminationStatus))")
        }
        let log = agent.log
        #expect(log.contains("notice: stopped"))
        for word in ["error", "Error", "critical", "CancellationError"] {
            #expect(!log.contains(word), "the stop logged '\(word)':\n\(log)")
        }
        #expect(!FileManager.default.fileExists(atPath: agent.home + "/atomd.sock"))
    }
}

extension AgentStopTests {
    /// A console port another agent holds: the second agent says so and
    /// exits 4, and shuts its socket down without any other error.
    @Test(.timeLimit(.minutes(1))) func aConsolePortInUseFailsTheStartClearly() async throws {
        let first = try AgentProcess.start(config: "api:\n  listen: 127.0.0.1:0\n")
        defer { _ = first.stop() }
        try await first.waitForLog("ready:")
        let (url, _) = try await ConsoleSecurityTests.link(first)
        let port = try #require(url.split(separator: ":").last?.split(separator: "/").first)
        let second = try AgentProcess.start(config: "api:\n  listen: 127.0.0.1:\(port)\n")
        #expect(second.waitForExit() == 4)
        let log = second.log
        #expect(log.contains("cannot serve the console on 127.0.0.1:\(port)") && log.contains("Address already in use"), "\(log)")
        #expect(!log.contains("CancellationError") && !log.contains("ready:"), "\(log)")
        #expect(!FileManager.default.fileExists(atPath: second.home + "/atomd.sock"))
    }
}
