import AtomdTestSupport
import Foundation
import Testing

/// The agent under a stand-in for systemd: what it reports on its notify socket.
@Suite struct AgentSystemdTests {
    @Test func theAgentReportsReadyStatusWatchdogAndStopping() async throws {
        let listener = NotifyListener()
        let agent = try AgentProcess.start(environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "100000"])
        let startup = listener.receive(until: "READY=1")
        #expect(startup.last == "READY=1", "\(startup)")
        #expect(listener.receive(until: "WATCHDOG=1").last == "WATCHDOG=1")
        try agent.drop("one.yaml", "version: 1\nname: one\nsteps:\n  - { id: a, uses: test.noop }\n")
        let status = listener.receive(until: "STATUS=1 running")
        #expect(status.last?.hasPrefix("STATUS=1 running, 0 queued") == true, "\(status)")
        _ = try await agent.waitForFiled(1)
        #expect(listener.receive(until: "STATUS=0 running, 0 queued").last == "STATUS=0 running, 0 queued")
        agent.signal(SIGTERM)
        #expect(listener.receive(until: "STOPPING=1").last == "STOPPING=1")
        agent.running.process.waitUntilExit()
        #expect(agent.running.process.terminationStatus == 0)
    }

    @Test func underJournaldEveryLineCarriesItsPriority() async throws {
        let agent = try AgentProcess.start(environment: ["JOURNAL_STREAM": "8:12345"])
        try await agent.waitForLog("ready:")
        try agent.drop("bad.yaml", "version: 1\nname: bad\n")
        try await agent.waitForLog("filed as failed/bad.yaml")
        #expect(agent.stop() == 0)
        let lines = agent.log.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("<6>ready: watching") })
        #expect(lines.contains { $0.hasPrefix("<4>bad.yaml: missing 'steps'") })
        #expect(lines.contains { $0.hasPrefix("<5>stopping:") })
        #expect(lines.allSatisfy { $0.range(of: #"^<[0-7]>"#, options: .regularExpression) != nil }, "\(lines)")
    }
}
