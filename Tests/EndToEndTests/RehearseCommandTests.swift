import AtomdTestSupport
import Foundation
import Testing

/// `atomd rehearse` with the real binary: the shipped jobs pass against a
/// temporary directory and a real FakeCloud, and a job whose revert
/// forgets something is caught, with the leftover named.
@Suite(.timeLimit(.minutes(3))) struct RehearseCommandTests {
    /// A made world, a home, and a job that allows rehearsals: `name`, with
    /// the steps `steps` writes for the world.
    static func rehearsable(_ name: String, steps: (String) -> String) throws -> (world: String, home: String, job: String) {
        let world = temporary("atomd-rehearse-world"), home = temporary("atomd-rehearse-home")
        try FileManager.default.createDirectory(atPath: world, withIntermediateDirectories: true)
        let job = try AtomdProcess.temporaryJob("version: 1\nname: \(name)\nrehearse: allowed\nsteps:\n" + steps(world))
        return (world, home, job)
    }

    static func temporary(_ prefix: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)").path
    }

    static func summary(_ result: AtomdProcess.Result) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stdout)\(result.stderr)")
    }

    static func rows(_ summary: [String: Any]) -> [[String: Any]] {
        summary["rehearsals"] as? [[String: Any]] ?? []
    }

    @Test func deployAppReturnsTheWorldToWhereItWasAfterEveryInjectedFailure() async throws {
        let root = Self.temporary("atomd-rehearse-web"), home = Self.temporary("atomd-rehearse-home")
        defer { DeployCrashTests.stopApps(root) }
        let result = try await AtomdProcess.run(["rehearse", "etc/jobs/deploy-app.yaml", "--var", "root=\(root)", "--yes", "--json",
                                           "--home", home])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let rows = Self.rows(try Self.summary(result))
        // Nine main steps, each failed after and in place of its execute.
        #expect(rows.count == 18, "\(rows.count)")
        #expect(rows.allSatisfy { $0["status"] as? String == "reverted" && ($0["left_behind"] as? [String])?.isEmpty == true })
        let afterSwitch = rows.first { $0["step"] as? String == "switch" && $0["when"] as? String == "after" }
        #expect(afterSwitch?["reverted"] as? [String] == ["switch", "stop-old", "unpack", "drain", "build"], "\(afterSwitch ?? [:])")
        #expect(result.stderr.contains("deploy-app.yaml:100:5: warning: step 'stop-old': no check and no state probe"), "\(result.stderr)")
        // The world as the first install left it: release 1.0 running, the host in the pool.
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: root + "/current")) == root + "/releases/1.0")
        #expect(DeployCrashTests.appProcesses(root).count == 1)
        #expect((try? String(contentsOfFile: root + "/lb/pool", encoding: .utf8)) == "web-1\n")
        #expect(!FileManager.default.fileExists(atPath: root + "/releases/2.0"))
        let runs = try await AtomdProcess.run(["runs", "--home", home, "--limit", "100"])
        #expect(runs.stdout.components(separatedBy: "(rehearsal: ").count - 1 == 18, "\(runs.stdout)")
    }

    /// The files-plugin variant of the example: every rehearsal restores the
    /// world and every check can tell (its unpack check needed the archive
    /// that build's revert had deleted, and "cannot tell" counted as left behind).
    @Test func deployAppFilesReturnsTheWorldToWhereItWasAfterEveryInjectedFailure() async throws {
        let root = Self.temporary("atomd-rehearse-files"), home = Self.temporary("atomd-rehearse-home")
        defer { DeployCrashTests.stopApps(root) }
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        try FileManager.default.moveItem(atPath: try PluginFixtures.pluginDirectory(["files"]), toPath: home + "/plugins")
        let result = try await AtomdProcess.run(["rehearse", "etc/jobs/deploy-app-files.yaml", "--var", "root=\(root)", "--yes", "--json",
                                           "--home", home])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let rows = Self.rows(try Self.summary(result))
        #expect(!rows.isEmpty)
        for row in rows {
            #expect(row["status"] as? String == "reverted" && (row["left_behind"] as? [String])?.isEmpty == true
                    && (row["unknown"] as? [String])?.isEmpty == true, "\(row)")
        }
    }

    /// A check that cannot tell is reported apart, with its reason, and
    /// does not make the rehearsal fail as if something were left behind.
    @Test func aCheckThatCannotTellIsUnknownNotLeftBehind() async throws {
        let job = try AtomdProcess.temporaryJob("""
            version: 1
            name: unsure
            steps:
              - { id: a, uses: test.world, with: { flag: a, check_unknown: true } }
              - { id: b, run: "true" }
            """)
        let result = try await AtomdProcess.run(["rehearse", job, "--only", "b", "--yes", "--json", "--home", Self.temporary("atomd-rehearse-home")])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let rows = Self.rows(try Self.summary(result))
        #expect(rows.allSatisfy { ($0["left_behind"] as? [String])?.isEmpty == true }, "\(rows)")
        #expect(rows.contains { ($0["unknown"] as? [String])?.contains { $0.contains("a: check: cannot tell (test.world: cannot tell, as asked)") } == true },
                "\(rows)")
    }

    @Test func launchAndAttachLeavesNothingLiveInTheCloud() async throws {
        let cloud = try await FakeCloudProcess(["--build-delay", "20"])
        let home = Self.temporary("atomd-rehearse-home")
        let result = try await AtomdProcess.run(["rehearse", "etc/jobs/launch-and-attach.yaml", "--var", "api=\(cloud.base)", "--yes",
                                           "--json", "--home", home])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(Self.rows(try Self.summary(result)).count >= 6)
        #expect(try await cloud.live() == ["servers": [], "volumes": [], "attachments": []])
    }

    /// Issue 32, item 5: the other shipped examples are rehearsed too, each
    /// in a world of its own, and every rehearsal restores it.
    @Test(arguments: ["compensation-demo", "parallel-prepare", "zone-fallback"])
    func everyShippedExampleRehearsesClean(_ example: String) async throws {
        let home = Self.temporary("atomd-rehearse-home")
        var variables: [String] = []
        var cloud: FakeCloudProcess?
        if example == "parallel-prepare" { variables = ["--var", "work=\(Self.temporary("atomd-rehearse-build"))"] }
        if example == "zone-fallback" {
            let started = try await FakeCloudProcess()
            cloud = started
            variables = ["--var", "api=\(started.base)"]
        }
        let result = try await AtomdProcess.run(["rehearse", "etc/jobs/\(example).yaml", "--yes", "--json", "--home", home] + variables)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let rows = Self.rows(try Self.summary(result))
        #expect(!rows.isEmpty)
        for row in rows {
            #expect((row["left_behind"] as? [String])?.isEmpty == true && (row["unknown"] as? [String])?.isEmpty == true, "\(row)")
        }
        if let cloud { #expect(try await cloud.live().values.allSatisfy(\.isEmpty)) }
    }

    /// `volume` forgets its revert; `link` reverts nothing either, which its
    /// state probe shows.
    static func brokenJob(_ world: String, allowed: Bool = true) -> String {
        """
        version: 1
        name: broken
        \(allowed ? "rehearse: allowed" : "")
        steps:
          - id: volume
            run: touch \(world)/volume-7
            check: test -e \(world)/volume-7
            revert: "true"
          - id: link
            run: ln -sfn release-2 \(world)/current
            state: echo target=$(readlink \(world)/current)
            revert: "true"
          - id: server
            run: touch \(world)/server-7
            check: test -e \(world)/server-7
            revert: rm -f \(world)/server-7
        """
    }

    /// A fresh world: `current` points at release-1.
    static func world() throws -> String {
        let world = temporary("atomd-rehearse-world")
        try FileManager.default.createDirectory(atPath: world, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: world + "/current", withDestinationPath: "release-1")
        return world
    }

    @Test func aRevertThatForgetsSomethingIsCaughtAndTheLeftoverNamed() async throws {
        let world = try Self.world()
        let job = try AtomdProcess.temporaryJob(Self.brokenJob(world))
        let text = try await AtomdProcess.run(["rehearse", job, "--only", "link", "--only", "server", "--home", Self.temporary("atomd-rehearse-home")])
        #expect(text.status == 3, "\(text.stdout)\(text.stderr)")
        let row = text.stdout.split(separator: "\n").first { $0.hasPrefix("after link ") }.map { $0.split(separator: " ").joined(separator: " ") }
        #expect(row?.hasPrefix("after link LEFT BEHIND link ") == true, "\(text.stdout)")
        #expect(text.stdout.contains("link: target: release-1 → release-2"), "\(text.stdout)")
        #expect(text.stdout.contains("volume: check: still present (absent before the step ran)"), "\(text.stdout)")
        #expect(text.stdout.contains("not run, as the world is no longer where it was: instead of link, after server, instead of server"),
                "\(text.stdout)")
        #expect(text.stdout.contains("verdict: 1 of 1 rehearsals run did not end with the world as they found it"), "\(text.stdout)")

        // In place of the first step nothing is made; after it, the volume stays.
        let second = try Self.world()
        let result = try await AtomdProcess.run(["rehearse", try AtomdProcess.temporaryJob(Self.brokenJob(second)), "--only", "volume",
                                           "--json", "--home", Self.temporary("atomd-rehearse-home")])
        #expect(result.status == 3)
        let summary = try Self.summary(result)
        #expect(summary["passed"] as? Bool == false)
        let leftBehind = Self.rows(summary).flatMap { $0["left_behind"] as? [String] ?? [] }
        #expect(leftBehind.first == "volume: check: still present (absent before the step ran)", "\(leftBehind)")
        #expect(FileManager.default.fileExists(atPath: second + "/volume-7"), "the leftover is really there")
    }

    /// --crash: every rehearsal again, killed at each of its journal
    /// writes and recovered; the world still ends empty.
    @Test(arguments: TestJournal.allCases)
    func crashesAtEveryJournalWriteAreRecoveredAndLeaveNothingBehind(_ journal: TestJournal) async throws {
        let (world, home, job) = try Self.rehearsable("good") { world in
            """
              - { id: volume, run: "touch \(world)/volume", check: "test -e \(world)/volume", revert: "rm -f \(world)/volume" }
              - { id: server, run: "touch \(world)/server", check: "test -e \(world)/server", revert: "rm -f \(world)/server" }

            """
        }
        let journalArguments = try await journal.arguments()
        let result = try await AtomdProcess.run(["rehearse", job, "--crash", "--json", "--home", home] + journalArguments)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let rows = Self.rows(try Self.summary(result))
        #expect(rows.count == 4)
        #expect(rows.allSatisfy { ($0["crash_points"] as? Int ?? 0) >= 5 }, "\(rows.map { $0["crash_points"] ?? "-" })")
        #expect(try FileManager.default.contentsOfDirectory(atPath: world).isEmpty)
        // Runs killed inside a step were recovered through its check.
        if journal == .sqlite {
            let recovered = JournalSQL.number(home + "/journal.sqlite",
                                     "SELECT COUNT(DISTINCT run_id) FROM events WHERE kind = 'note' AND status LIKE 'the agent stopped during attempt%'")
            #expect(recovered >= 4, "\(recovered) recovered runs")
        } else {
            #expect(!FileManager.default.fileExists(atPath: home + "/journal.sqlite"), "every rehearsal used the PostgreSQL journal")
            let listed = try await AtomdProcess.run(["runs", "--home", home, "--json", "--limit", "500"] + journalArguments)
            let runs = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]] ?? []
            #expect(runs.count >= 20 && runs.allSatisfy { $0["open"] as? Bool == false }, "\(runs.count) runs: \(listed.stderr)")
        }
    }

    /// Issue 32, item 8: --crash cannot crash inside a step's script, so it
    /// says which steps a crash there would leave to a check that cannot
    /// tell, or fail for want of one; a plain rehearsal does not.
    @Test func crashRehearsalsPointAtStepsACrashWouldLeaveToChance() async throws {
        let (_, home, job) = try Self.rehearsable("doubts") { world in
            """
              - { id: made, run: "touch \(world)/made && date", check: "test -e \(world)/made", revert: "rm -f \(world)/made" }
              - { id: lint, run: "test -d \(world)", revert: none }

            """
        }
        let crashed = try await AtomdProcess.run(["rehearse", job, "--crash", "--json", "--home", home])
        #expect(crashed.status == 0, "\(crashed.stdout)\(crashed.stderr)")
        let warnings = try Self.summary(crashed)["warnings"] as? [String] ?? []
        #expect(warnings.contains { $0.contains("step 'made': its script ends with `date`, which its check does not look at") }, "\(warnings)")
        #expect(warnings.contains { $0.contains("step 'lint': `revert: none`, no check and not idempotent") }, "\(warnings)")
        #expect(crashed.stderr.contains("\(job):5:5: warning: step 'made': its script ends with `date`"), "\(crashed.stderr)")
        let plain = try await AtomdProcess.run(["rehearse", job, "--json", "--home", home])
        #expect(plain.status == 0, "\(plain.stdout)\(plain.stderr)")
        #expect(!plain.stderr.contains("its script ends with") && !plain.stderr.contains("not idempotent"), "\(plain.stderr)")
    }

    @Test func aJobThatDoesNotAllowRehearsalsIsRefusedWithoutYes() async throws {
        let world = Self.temporary("atomd-rehearse-world")
        try FileManager.default.createDirectory(atPath: world, withIntermediateDirectories: true)
        let home = Self.temporary("atomd-rehearse-home")
        let job = try AtomdProcess.temporaryJob(Self.brokenJob(world, allowed: false))
        let refused = try await AtomdProcess.run(["rehearse", job, "--home", home])
        #expect(refused.status == 2 && refused.stderr.contains("rehearse: allowed"), "\(refused.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: world).isEmpty, "nothing ran")
        let unknown = try await AtomdProcess.run(["rehearse", job, "--only", "nosuch", "--yes", "--home", home])
        #expect(unknown.status == 2 && unknown.stderr.contains("no step 'nosuch'"), "\(unknown.stderr)")
        // Every step has a probe and a revert, however useless: --strict cannot tell.
        #expect(try await AtomdProcess.run(["validate", "--strict", job]).status == 0)
        let unprovable = try AtomdProcess.temporaryJob("""
            version: 1
            name: unprovable
            steps:
              - { id: a, run: "touch \(world)/a" }
              - { id: b, run: "touch \(world)/b", revert: "rm -f \(world)/b; echo ${{ outputs.path }}" }
            """)
        let strict = try await AtomdProcess.run(["validate", "--strict", unprovable])
        #expect(strict.status == 2, "\(strict.stdout)")
        #expect(strict.stdout.contains(":4:5: warning: step 'a': no check and no state probe"), "\(strict.stdout)")
        #expect(strict.stdout.contains(":5:5: warning: step 'b': its revert reads output 'path'"), "\(strict.stdout)")
        #expect(try await AtomdProcess.run(["validate", unprovable]).status == 0)
    }
}
