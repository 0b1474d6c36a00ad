import AtomdTestSupport
import Foundation
import Testing

/// The real agent with its journal in PostgreSQL: a job runs as on SQLite,
/// the CLI reads it, one agent owns the journal, and the database going
/// away (restarted in the middle of a step and of a revert, or away past
/// journal.postgres.outage) never makes a step run twice or a run be lost.
@Suite(.serialized, .timeLimit(.minutes(4))) struct PostgresAgentTests {
    private func config(_ url: String, outage: String? = nil) -> String {
        "journal:\n  postgres:\n    url: \"\(url)\"\n" + (outage.map { "    outage: \($0)\n" } ?? "")
    }

    private func waitForFile(_ path: String, agent: AgentProcess, limit: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + limit
        while !FileManager.default.fileExists(atPath: path) {
            try #require(ContinuousClock.now < deadline, "no \(path) within \(limit):\n\(agent.log)")
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// A directory for a job's effects, one line per action in a file there.
    private static func world() throws -> String {
        let world = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-pgworld-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: world, withIntermediateDirectories: true)
        return world
    }

    private func lines(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    @Test func anAgentOnPostgreSQLRunsJobsAndTheCLIReadsThem() async throws {
        let cluster = try await PostgresCluster.shared()
        let url = cluster.socketURL(try await cluster.createDatabase())
        let agent = try AgentProcess.start(config: config(url))
        defer { try? FileManager.default.removeItem(atPath: agent.home) }
        try await agent.waitForLog("ready:")
        try agent.drop("hello.yaml", "version: 1\nname: hello\nsteps:\n  - id: a\n    run: echo hello\n")
        let filed = try await agent.waitForFiled(1)
        #expect(filed.done == ["hello.yaml"], "\(agent.log)")
        #expect(!FileManager.default.fileExists(atPath: agent.home + "/journal.sqlite"), "no SQLite journal beside it")

        // The CLI finds the journal in HOME/atomd.yaml, or is given it.
        let listed = try await AtomdProcess.run(["runs", "--home", agent.home, "--json", "--socket", agent.home + "/none.sock"])
        #expect(listed.status == 0 && listed.stdout.contains("\"hello\"") && listed.stdout.contains("succeeded"), "\(listed.stderr)")
        let checked = try await AtomdProcess.run(["config", "check", "--home", agent.home])
        #expect(checked.status == 0 && checked.stdout.contains("commits durable, journal schema v1"), "\(checked.stdout)\(checked.stderr)")

        // A second agent on the same journal (another home) is refused, naming the first.
        let other = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-agent-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: other) }
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try config(url).write(toFile: other + "/atomd.yaml", atomically: true, encoding: .utf8)
        let second = try await AtomdProcess.run(["agent", "--home", other])
        #expect(second.status == 4, "\(second.stderr)")
        #expect(second.stderr.contains("in use by atomd agent, pid \(agent.running.process.processIdentifier)"), "\(second.stderr)")
        let job = other + "/hello.yaml"
        try "version: 1\nname: hello\nsteps:\n  - id: a\n    run: echo hello\n".write(toFile: job, atomically: true, encoding: .utf8)
        let run = try await AtomdProcess.run(["run", job, "--home", other, "--journal", url])
        #expect(run.status == 4 && run.stderr.contains("is owned by atomd agent"), "\(run.stderr)")
        let copy = try await AtomdProcess.run(["journal", "copy", "--from", other + "/journal.sqlite", "--to", url])
        #expect(copy.status == 4 && copy.stderr.contains("is owned by atomd agent"), "\(copy.stderr)")

        // A step that prints binary and fails: its failure (the output's
        // last lines, a NUL among them) is stored, and it is reverted, once.
        let world = other + "/world"
        try agent.drop("binary.yaml", """
            version: 1
            name: binary
            steps:
              - id: chk
                run: echo chk >> \(world); printf 'x\\000y\\n'; exit 5
                check: grep -q chk \(world)
                revert: echo reverted >> \(world)
              - id: after
                run: echo after >> \(world)
            """)
        let binary = try await agent.waitForFiled(2)
        #expect(binary.failed == ["binary.yaml"], "\(agent.log)")
        #expect(lines(world) == ["chk", "reverted"], "\(agent.log)")

        let stopped = try await offThePool { agent.stop() }
        #expect(stopped == 0, "\(agent.log)")
        // Freed when the agent stopped: a command may use the journal now.
        let after = try await AtomdProcess.run(["run", job, "--home", other, "--journal", url])
        #expect(after.status == 0, "\(after.stderr)")
    }

    /// PostgreSQL restarted while a step runs, and again while its revert
    /// runs: each outcome is stored once the server is back, and each action
    /// ran exactly once.
    @Test func restartsInTheMiddleOfAStepAndOfARevertRunNothingTwice() async throws {
        let cluster = try await PostgresCluster.start()
        let url = cluster.socketURL(try await cluster.createDatabase())
        let world = try Self.world()
        defer { try? FileManager.default.removeItem(atPath: world) }
        let agent = try AgentProcess.start(config: config(url))
        defer { try? FileManager.default.removeItem(atPath: agent.home) }
        try await agent.waitForLog("ready:")
        try agent.drop("restart.yaml", """
            version: 1
            name: restart
            steps:
              - id: a
                run: echo a >> \(world)/log; touch \(world)/a-started; while [ ! -f \(world)/go-a ]; do sleep 0.05; done
                revert: echo reverted >> \(world)/log; touch \(world)/r-started; while [ ! -f \(world)/go-r ]; do sleep 0.05; done
              - id: b
                run: exit 3
            """)
        try await waitForFile(world + "/a-started", agent: agent)
        try await cluster.stop()
        try await cluster.startServer()
        FileManager.default.createFile(atPath: world + "/go-a", contents: nil)
        try await waitForFile(world + "/r-started", agent: agent)
        try await cluster.stop(mode: "immediate")
        try await cluster.startServer()
        FileManager.default.createFile(atPath: world + "/go-r", contents: nil)
        let filed = try await agent.waitForFiled(1)
        #expect(filed.failed == ["restart.yaml"], "\(agent.log)")
        #expect(lines(world + "/log") == ["a", "reverted"], "each action once:\n\(agent.log)")
        let shown = try await AtomdProcess.run(["runs", "--home", agent.home, "--json", "--socket", agent.home + "/none.sock"])
        #expect(shown.stdout.contains("\"reverted\""), "\(shown.stdout)\(shown.stderr)")
        #expect(try await offThePool { agent.stop() } == 0)
        try await cluster.stop(mode: "immediate")
    }

    /// Away longer than journal.postgres.outage: the run stops where its
    /// last record says, its job stays claimed, and once the database is
    /// back it is resumed; the step whose outcome was not stored is settled
    /// by its check, not run again.
    @Test func anOutagePastTheLimitStopsTheRunUntilTheDatabaseIsBack() async throws {
        let cluster = try await PostgresCluster.start()
        let url = cluster.socketURL(try await cluster.createDatabase())
        let world = try Self.world()
        defer { try? FileManager.default.removeItem(atPath: world) }
        let agent = try AgentProcess.start(config: config(url, outage: "2s"))
        defer { try? FileManager.default.removeItem(atPath: agent.home) }
        try await agent.waitForLog("ready:")
        try agent.drop("outage.yaml", """
            version: 1
            name: outage
            steps:
              - id: a
                run: echo a >> \(world)/log; touch \(world)/a-started; while [ ! -f \(world)/go ]; do sleep 0.05; done
                check: grep -qx a \(world)/log
              - id: b
                run: echo b >> \(world)/log
            """)
        try await waitForFile(world + "/a-started", agent: agent)
        try await cluster.stop()
        FileManager.default.createFile(atPath: world + "/go", contents: nil)
        try await agent.waitForLog("it resumes once the journal is back")
        #expect(agent.jobs(in: "processing") == ["outage.yaml"], "still claimed")
        #expect(agent.jobs(in: "done").isEmpty && agent.jobs(in: "failed").isEmpty)
        #expect(lines(world + "/log") == ["a"], "b did not start without a record")
        // Reads through the agent say what is wrong, soon, instead of hanging.
        let asked = ContinuousClock.now
        let listed = try await AtomdProcess.run(["runs", "--home", agent.home])
        #expect(listed.status != 0 && listed.stderr.contains("is unreachable"), "\(listed.stdout)\(listed.stderr)")
        #expect(ContinuousClock.now - asked < .seconds(20))
        try await cluster.startServer()
        let filed = try await agent.waitForFiled(1)
        #expect(filed.done == ["outage.yaml"], "\(agent.log)")
        #expect(lines(world + "/log") == ["a", "b"], "a settled by its check, not run again:\n\(agent.log)")
        #expect(try await offThePool { agent.stop() } == 0)
        try await cluster.stop(mode: "immediate")
    }
}
