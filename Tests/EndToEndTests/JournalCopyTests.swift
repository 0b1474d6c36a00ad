import AtomdTestSupport
import Foundation
import Testing

/// `atomd journal copy`: a home's history moved into PostgreSQL, whole and
/// verified, or not at all.
@Suite(.timeLimit(.minutes(3))) struct JournalCopyTests {
    private func home() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("atomd-copy-\(UUID().uuidString)").path
    }

    private func job(_ home: String, _ name: String, _ body: String) throws -> String {
        try FileManager.default.createDirectory(atPath: home + "-jobs", withIntermediateDirectories: true)
        let path = home + "-jobs/" + name + ".yaml"
        try "version: 1\nname: \(name)\nsteps:\n\(body)".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func aHomesHistoryIsCopiedWholeAndReadsBackTheSame() async throws {
        let home = home()
        defer { try? FileManager.default.removeItem(atPath: home); try? FileManager.default.removeItem(atPath: home + "-jobs") }
        let good = try job(home, "good", "  - id: a\n    run: echo a\n")
        let bad = try job(home, "bad", "  - id: a\n    run: echo a\n    revert: echo undo\n  - id: b\n    run: exit 3\n")
        #expect(try await AtomdProcess.run(["run", good, "--home", home]).status == 0)
        #expect(try await AtomdProcess.run(["run", bad, "--home", home]).status != 0)
        // A run refused before it started (an undeclared --var) is closed,
        // not left open for ever: it is history like any other.
        let refused = try await AtomdProcess.run(["run", bad, "--home", home, "--var", "x=1"])
        #expect(refused.status == 2 && refused.stderr.contains("declares no variable 'x'"), "\(refused.stderr)")
        let cluster = try await PostgresCluster.shared()
        let database = try await cluster.createDatabase()
        let url = cluster.socketURL(database)

        let copied = try await AtomdProcess.run(["journal", "copy", "--from", home + "/journal.sqlite", "--to", url, "--json"])
        #expect(copied.status == 0, "\(copied.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(copied.stdout.utf8)) as? [String: Any])
        #expect(report["runs"] as? Int == 3 && report["steps"] as? Int == 3)
        #expect((report["sha256"] as? String)?.count == 64)
        // What atomd shows of each run is the same from either journal.
        let listed = try await AtomdProcess.run(["runs", "--home", home, "--json", "--socket", home + "/none.sock"])
        let ids = (try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        #expect(ids.count == 3)
        for id in ids {
            let before = try await AtomdProcess.run(["show", id, "--home", home, "--json", "--socket", home + "/none.sock"])
            let after = try await AtomdProcess.run(["show", id, "--home", home, "--json", "--socket", home + "/none.sock", "--journal", url])
            #expect(before.status == 0 && before.stdout == after.stdout, "\(id):\n\(before.stdout)\n\(after.stdout)\(after.stderr)")
        }
        // Again: nothing new, nothing doubled.
        let again = try await AtomdProcess.run(["journal", "copy", "--from", home + "/journal.sqlite", "--to", url])
        #expect(again.status == 0 && again.stdout.contains("copied 0 runs") && again.stdout.contains("3 were already there"), "\(again.stdout)")
        let rows = try await cluster.psql("SELECT count(*) FROM atomd.runs", database: database)
        #expect(rows.trimmingCharacters(in: .whitespacesAndNewlines) == "3")
        let unstarted = try await cluster.psql("SELECT status || ' ' || (closed_at IS NOT NULL)::text FROM atomd.runs WHERE detail LIKE 'not started:%'",
                                               database: database)
        #expect(unstarted.trimmingCharacters(in: .whitespacesAndNewlines) == "failed true", "\(unstarted)")
        // A run of the same id but other content stops the copy, which copies nothing.
        try await cluster.psql("UPDATE atomd.runs SET detail = 'tampered' WHERE id = '\(ids[0])'", database: database)
        let conflict = try await AtomdProcess.run(["journal", "copy", "--from", home + "/journal.sqlite", "--to", url])
        #expect(conflict.status == 2 && conflict.stderr.contains("already in") && conflict.stderr.contains(ids[0]), "\(conflict.stderr)")
    }

    /// An open run belongs to its home: the copy is refused, naming it, and
    /// the database is left empty.
    @Test func openRunsAreRefusedByName() async throws {
        let home = home()
        defer { try? FileManager.default.removeItem(atPath: home); try? FileManager.default.removeItem(atPath: home + "-jobs") }
        let held = try job(home, "held", "  - id: a\n    run: echo a\n  - id: b\n    run: echo b\n")
        let crashed = try await AtomdProcess.run(["run", held, "--home", home], environment: ["ATOMD_CRASH_AT": "3"])
        #expect(crashed.killed)
        let listed = try await AtomdProcess.run(["runs", "--home", home, "--json", "--socket", home + "/none.sock"])
        let open = try #require((try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])?.first?["id"] as? String)
        let cluster = try await PostgresCluster.shared()
        let database = try await cluster.createDatabase()
        let refused = try await AtomdProcess.run(["journal", "copy", "--from", home + "/journal.sqlite", "--to", cluster.socketURL(database)])
        #expect(refused.status == 2 && refused.stderr.contains("open runs") && refused.stderr.contains(open), "\(refused.stderr)")
        let rows = try await cluster.psql("SELECT count(*) FROM atomd.runs", database: database)
        #expect(rows.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        // A password in the URL is refused before anything is read.
        let password = try await AtomdProcess.run(["journal", "copy", "--from", home + "/journal.sqlite",
                                                   "--to", "postgresql://atomd:secret@127.0.0.1/\(database)"])
        #expect(password.status == 2 && password.stderr.contains("holds a password") && !password.stderr.contains("secret@"), "\(password.stderr)")
    }
}
