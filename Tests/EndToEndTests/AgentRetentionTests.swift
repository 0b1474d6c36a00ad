import Foundation
import Testing

/// `agent.retention` through the real agent: what an old closed run leaves
/// (its journal rows, its step logs, its job in done/) goes at start, and
/// everything recent stays.
@Suite(.timeLimit(.minutes(2))) struct AgentRetentionTests {
    static let fortyDays: TimeInterval = 40 * 86_400

    static func age(_ path: String) throws {
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-fortyDays)], ofItemAtPath: path)
    }

    @Test func oldClosedRunsTheirLogsAndDoneJobsArePrunedAtStart() async throws {
        let first = try AgentProcess.start()
        try await first.waitForLog("ready:")
        for name in ["old", "new"] { try first.drop("\(name).yaml", "version: 1\nname: \(name)\nsteps:\n  - { id: a, run: \"echo \(name)\" }\n") }
        #expect(try await first.waitForFiled(2).done == ["new.yaml", "old.yaml"])
        #expect(first.stop() == 0)
        let home = first.home
        let listed = try await AtomdProcess.run(["runs", "--json", "--home", home])
        let runs = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        let id = { (job: String) in runs.first { $0["job"] as? String == job }?["id"] as? String ?? "" }
        let (old, new) = (id("old"), id("new"))
        // The old run closed forty days ago, as far as everything it left says.
        #expect(JournalSQL.execute(home + "/journal.sqlite", "UPDATE runs SET closed_at = closed_at - \(Self.fortyDays) WHERE id = '\(old)'"))
        try Self.age(home + "/logs/" + old)
        try Self.age(home + "/spool/done/old.yaml")
        // Log directories the journal does not know (named like runs: the
        // agent refuses a logs directory holding anything else): one old, one recent.
        let (goneOld, goneNew) = ("20200101-000000-0000aa", "20200101-000000-0000bb")
        for orphan in [goneOld, goneNew] { try FileManager.default.createDirectory(atPath: home + "/logs/" + orphan, withIntermediateDirectories: false) }
        try Self.age(home + "/logs/" + goneOld)

        let agent = try AgentProcess.start(home: home)
        defer { _ = agent.stop() }
        try await agent.waitForLog("retention (runs 30d, logs 7d, done 30d): pruned 1 runs, 2 log directories, 1 done jobs")
        let after = try await AtomdProcess.run(["runs", "--json", "--home", home, "--socket", home + "/none.sock"])
        #expect(!after.stdout.contains(old) && after.stdout.contains(new), "\(after.stdout)")
        #expect(try await AtomdProcess.run(["show", old, "--home", home, "--socket", home + "/none.sock"]).status != 0)
        let logs = Set(try FileManager.default.contentsOfDirectory(atPath: home + "/logs"))
        #expect(logs == [new, goneNew], "\(logs)")
        #expect(agent.jobs(in: "done") == ["new.yaml"])
    }

    @Test func retentionIsCheckedLikeEveryOtherKey() async throws {
        for (text, says) in [("agent:\n  retention: { runs: 0s }\n", "must be at least 1s"),
                             ("agent:\n  retention: { runs: 30 }\n", "needs a unit"),
                             ("agent:\n  retention: { failed: 1d }\n", "unknown key 'failed'")] {
            let file = try AtomdProcess.temporaryJob(text, name: "atomd.yaml")
            let result = try await AtomdProcess.run(["config", "check", file])
            #expect(result.status == 2 && result.stderr.contains(says), "\(text): \(result.stderr)")
        }
        let file = try AtomdProcess.temporaryJob("agent:\n  retention: { runs: 90d, logs: 1d12h }\n", name: "atomd.yaml")
        #expect(try await AtomdProcess.run(["config", "check", file]).status == 0)
    }
}
