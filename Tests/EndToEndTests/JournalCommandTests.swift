import Foundation
import Testing

/// `atomd runs`, `show`, `logs` and `resume` on a real journal, and what they
/// do with bad input: unknown runs, no journal, a damaged one.
@Suite struct JournalCommandTests {
    let home = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-journal-cli-\(UUID().uuidString)").path

    static let job = """
        version: 1
        name: chatty
        steps:
          - id: hello
            run: |
              echo first line
              echo second line >&2
          - id: count
            run: for i in 1 2 3; do echo "n=$i"; done
        """

    private func runJob(_ yaml: String = Self.job) async throws -> String {
        let file = try AtomdProcess.temporaryJob(yaml)
        let result = try await AtomdProcess.run(["run", file, "--home", home])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        return try await latestRunID()
    }

    /// The newest run in the home's journal, as `atomd runs --json` lists it.
    private func latestRunID() async throws -> String {
        let listed = try await AtomdProcess.run(["runs", "--home", home, "--json"])
        let runs = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        return try #require(runs.first?["id"] as? String, "\(listed.stdout)")
    }

    /// Commands started at once on a new home used to race to create the
    /// schema, and some failed with "duplicate column name".
    @Test func runsStartedAtOnceOnANewHomeShareOneNewJournal() async throws {
        let job = try AtomdProcess.temporaryJob("version: 1\nname: together\nsteps:\n  - { id: a, uses: test.noop }\n")
        for round in 1...5 {
            let fresh = home + "-\(round)"
            let started = try (1...10).map { _ in try AtomdProcess.start(["run", job, "--home", fresh]) }
            for run in started {
                let result = try await run.finish()
                #expect(result.status == 0, "round \(round): \(result.stderr)")
            }
            let listed = try await AtomdProcess.run(["runs", "--home", fresh, "--json"])
            let runs = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]]
            #expect(runs?.count == 10, "round \(round): \(listed.stdout)\(listed.stderr)")
        }
    }

    @Test func runsShowAndLogsReadWhatTheRunJournaled() async throws {
        defer { try? FileManager.default.removeItem(atPath: home) }
        let runID = try await runJob()
        let table = try await AtomdProcess.run(["runs", "--home", home])
        #expect(table.stdout.contains(runID) && table.stdout.contains("chatty") && table.stdout.contains("succeeded"), "\(table.stdout)")
        #expect(table.stderr.contains("no agent socket at \(home)/atomd.sock; reading the journal instead"), "says where it read")
        #expect(try await AtomdProcess.run(["runs", "--home", home, "--status", "reverted"]).stdout.contains("no runs with status reverted"))

        let shown = try await AtomdProcess.run(["show", runID, "--home", home])
        #expect(shown.stdout.contains("run \(runID): succeeded"), "\(shown.stdout)")
        #expect(shown.stdout.contains("count: succeeded, 1 attempt"), "\(shown.stdout)")
        #expect(shown.stdout.contains("idempotency key: \(runID)/hello/1"), "\(shown.stdout)")
        let json = try await AtomdProcess.run(["show", runID, "--home", home, "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let steps = try #require(object["steps"] as? [[String: Any]])
        #expect(steps.map { $0["id"] as? String } == ["hello", "count"])
        #expect(steps.allSatisfy { $0["process_group"] as? Int != nil }, "process groups are journaled: \(steps)")
        // Times as RFC 3339 UTC, from the journal as from the agent.
        let run = try #require(object["run"] as? [String: Any])
        for time in [run["created_at"], steps.first?["started_at"]] {
            #expect((time as? String).flatMap { try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse($0) } != nil,
                    "\(String(describing: time))")
        }

        let logs = try await AtomdProcess.run(["logs", runID, "--home", home])
        #expect(logs.stdout.contains("== hello (attempt 1) ==") && logs.stdout.contains("first line")
                && logs.stdout.contains("second line") && logs.stdout.contains("n=3"), "\(logs.stdout)")
        let nosuch = try await AtomdProcess.run(["logs", runID, "cuont", "--home", home])
        #expect(nosuch.status == 2 && nosuch.stderr.contains("has no step 'cuont'; its steps: hello, count"), "\(nosuch.stderr)")
        let one = try await AtomdProcess.run(["logs", runID, "count", "--home", home, "--json"])
        let lines = try one.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(lines.count == 3 && lines.allSatisfy { $0["step"] as? String == "count" && $0["attempt"] as? Int == 1 }, "\(one.stdout)")
    }

    @Test func logsFollowsARunUntilItEnds() async throws {
        defer { try? FileManager.default.removeItem(atPath: home) }
        let file = try AtomdProcess.temporaryJob("""
            version: 1
            name: slow
            steps:
              - id: talk
                run: |
                  echo before
                  while [ ! -e "$HOME_MARK" ]; do sleep 0.05; done
                  echo after
                env: { HOME_MARK: \(home)/go }
            """)
        let running = try AtomdProcess.start(["run", file, "--home", home])
        try await running.waitForOutput(containing: "before")
        let runID = try await latestRunID()
        let follower = try AtomdProcess.start(["logs", runID, "-f", "--home", home])
        try await follower.waitForOutput(containing: "before")
        #expect(FileManager.default.createFile(atPath: home + "/go", contents: Data()))
        #expect(try await running.finish().status == 0)
        let followed = try await follower.finish()
        #expect(followed.status == 0 && followed.stdout.contains("after"), "\(followed.stdout)")
    }

    /// A revert and a check run with the attempt number of what they serve:
    /// each keeps a log of its own instead of overwriting the execute's.
    @Test func aRevertKeepsTheLogOfTheExecuteItUndoes() async throws {
        defer { try? FileManager.default.removeItem(atPath: home) }
        let file = try AtomdProcess.temporaryJob("""
            version: 1
            name: undone
            steps:
              - id: make
                run: echo made it
                check: { run: "echo probing; exit 1" }
                revert: echo undid it
              - { id: boom, run: "exit 4" }
            """)
        let result = try await AtomdProcess.run(["run", file, "--home", home])
        #expect(result.status == 1, "\(result.stdout)\(result.stderr)")
        let runID = try await latestRunID()
        let logs = try await AtomdProcess.run(["logs", runID, "make", "--home", home])
        let lines = logs.stdout.split(separator: "\n").map { $0.replacingOccurrences(of: #"^\S+ (out|err) \| "#, with: "", options: .regularExpression) }
        #expect(lines == ["== make (attempt 1) ==", "made it", "== make (check attempt 1) ==", "probing",
                          "== make (revert attempt 1) ==", "undid it"], "\(logs.stdout)")
    }

    /// Finding 6 of the hardening issue: a user the agent's socket refuses
    /// used to read every run through the CLI's journal fallback. Even with
    /// a journal left readable (an older atomd made it 0644), only its owner
    /// reads it directly.
    @Test func anotherUserCannotReadTheJournalDirectly() async throws {
        guard geteuid() == 0 else {
            print("anotherUserCannotReadTheJournalDirectly: skipped, the tests do not run as root")
            return
        }
        defer { try? FileManager.default.removeItem(atPath: home) }
        let runID = try await runJob()
        chmod(home, 0o755)
        chmod(home + "/journal.sqlite", 0o644)
        for arguments in [["runs"], ["show", runID]] {
            let result = try await AtomdProcess.run(arguments + ["--home", home], asUser: 65534)
            #expect(result.status == 4, "\(arguments): \(result.stdout)\(result.stderr)")
            #expect(result.stderr.contains("not yours to read directly"), "\(result.stderr)")
            #expect(!result.stdout.contains(runID))
        }
    }

    @Test func unknownRunsAndMissingJournalsAreClearErrors() async throws {
        defer { try? FileManager.default.removeItem(atPath: home) }
        let none = try await AtomdProcess.run(["runs", "--home", home])
        #expect(none.status == 2 && none.stderr.contains("no journal in \(home)"), "\(none.stderr)")
        #expect(!FileManager.default.fileExists(atPath: home), "a read created the home")
        let runID = try await runJob()
        let unknown = try await AtomdProcess.run(["show", "nope", "--home", home])
        #expect(unknown.status == 2 && unknown.stderr.contains("no run nope"), "\(unknown.stderr)")
        let ended = try await AtomdProcess.run(["resume", runID, "--home", home])
        #expect(ended.status == 2 && ended.stderr.contains("already ended"), "\(ended.stderr)")
        let badSync = try await AtomdProcess.run(["runs", "--home", home, "--journal-sync", "sometimes"])
        #expect(badSync.status == 2, "\(badSync.stderr)")
        let badStatus = try await AtomdProcess.run(["runs", "--home", home, "--status", "exploded"])
        #expect(badStatus.status == 2, "\(badStatus.stderr)")
    }

    @Test func aDamagedJournalStopsEveryCommandAndIsLeftAlone() async throws {
        defer { try? FileManager.default.removeItem(atPath: home) }
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let garbage = Data(repeating: 0x5A, count: 8192)
        #expect(FileManager.default.createFile(atPath: home + "/journal.sqlite", contents: garbage))
        for arguments in [["runs"], ["show", "x"], ["run", "etc/jobs/compensation-demo.yaml"]] {
            let result = try await AtomdProcess.run(arguments + ["--home", home])
            #expect(result.status == 4, "\(arguments): \(result.status) \(result.stderr)")
            #expect(result.stderr.contains("cannot use the journal") && result.stderr.contains("left untouched"), "\(result.stderr)")
        }
        #expect(FileManager.default.contents(atPath: home + "/journal.sqlite") == garbage)
    }
}
