import AtomdEngine
@testable import AtomdJournal
@testable import AtomdJournalPostgres
import AtomdSpec
import AtomdTestSupport
import Foundation
import Synchronization
import Testing

/// The database goes away under a live journal: restarts, killed
/// connections, a full disk. Each test has a cluster of its own to break.
/// No record is lost or stored twice, none is claimed stored before the
/// server committed it, and nothing waits for ever.
@Suite(.serialized, .timeLimit(.minutes(3))) struct PostgresOutageTests {
    private func open(_ cluster: PostgresCluster, database: String) async throws -> PostgresJournal {
        guard case .success(let url) = PostgresURL.parse(cluster.socketURL(database)) else { throw PostgresCluster.Failure("no URL") }
        return try await PostgresJournal.open(PostgresSettings(PostgresJournalConfig(url: url)))
    }

    private func open(_ cluster: PostgresCluster, outage: Duration = .seconds(60), readTimeout: Duration = .seconds(10)) async throws
        -> (PostgresJournal, String) {
        let database = try await cluster.createDatabase()
        guard case .success(let url) = PostgresURL.parse(cluster.socketURL(database)) else { throw PostgresCluster.Failure("no URL") }
        var settings = PostgresSettings(PostgresJournalConfig(url: url, outage: outage))
        settings.readTimeout = readTimeout
        return (try await PostgresJournal.open(settings), database)
    }

    private func event(_ sequence: Int, _ runID: String = "r") -> EngineEvent {
        EngineEvent(sequence: sequence, runID: runID, kind: sequence == 1 ? .run(.running) : .note("n\(sequence)"), time: Date())
    }

    /// A write made while the server is down waits for it (the engine waits
    /// with it, so no step starts), and is stored once it is back.
    @Test func aWriteWaitsThroughARestartAndIsStoredOnce() async throws {
        let cluster = try await PostgresCluster.start()
        let (journal, database) = try await open(cluster)
        try await journal.createRun(NewRun(id: "r", jobName: "j", jobFile: "j.yaml", jobText: "x", vars: [:]))
        try await cluster.stop()
        let done = Flag()
        let write = Task {
            defer { done.raise() }
            try await journal.record([event(1), event(2)])
        }
        // The server stays away a while: the write must still be waiting.
        try await Task.sleep(for: .seconds(2))
        #expect(!done.isRaised, "a write returned while the server was down")
        try await cluster.startServer()
        try await write.value
        let stored = try await cluster.psql("SELECT string_agg(sequence::text, ',' ORDER BY sequence) FROM atomd.events", database: database)
        #expect(stored.trimmingCharacters(in: .whitespacesAndNewlines) == "1,2")
        #expect(try await journal.run("r")?.status == .running)
        await journal.close()
        try await cluster.stop(mode: "immediate")
    }

    /// Past journal.postgres.outage the write fails, saying why, and a read
    /// says the journal is unreachable instead of hanging.
    @Test func pastTheOutageLimitAWriteFailsAndReadsSayUnreachable() async throws {
        let cluster = try await PostgresCluster.start()
        let (journal, database) = try await open(cluster, outage: .seconds(2), readTimeout: .seconds(2))
        try await journal.createRun(NewRun(id: "r", jobName: "j", jobFile: "j.yaml", jobText: "x", vars: [:]))
        try await cluster.stop()
        let started = ContinuousClock.now
        let failure = await #expect(throws: JournalError.self) { try await journal.record([event(1)]) }
        let waited = ContinuousClock.now - started
        #expect(waited >= .seconds(2) && waited < .seconds(20), "gave up after \(waited)")
        #expect(failure?.description.contains("could not store a record") == true, "\(failure?.description ?? "")")
        let read = ContinuousClock.now
        let unreachable = await #expect(throws: JournalError.self) { try await journal.runs(status: nil, limit: 10) }
        #expect(unreachable?.description.contains("is unreachable") == true, "\(unreachable?.description ?? "")")
        #expect(ContinuousClock.now - read < .seconds(15))
        try await cluster.startServer()
        // What failed was not stored: nothing half-written.
        let stored = try await cluster.psql("SELECT count(*) FROM atomd.events", database: database)
        #expect(stored.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        await journal.close()
        try await cluster.stop(mode: "immediate")
    }

    /// Connections killed by the server (pg_terminate_backend) over and over
    /// while a run goes on: every transition is stored once, in order.
    @Test func aRunGoesOnThroughKilledConnections() async throws {
        let cluster = try await PostgresCluster.shared()
        let (journal, database) = try await open(cluster)
        let text = "version: 1\nname: j\nsteps:\n" + (1...30).map { "  - id: s\($0)\n    uses: test.sleep\n    with: { for: 40ms }\n" }.joined()
        let job = try JobLoader.load(bytes: Array(text.utf8), file: "j.yaml")
        try await journal.createRun(NewRun(id: "k", jobName: job.name, jobFile: "j.yaml", jobText: text, vars: [:]))
        let handle = try Engine(registry: AtomRegistry(TestAtoms.all(world: TestWorld())), journal: journal).start(RunRequest(job: job, runID: "k"))
        let killer = Task {
            var killed = 0
            while !Task.isCancelled {
                killed += (try? await cluster.terminateBackends(database)) ?? 0
                try? await Task.sleep(for: .milliseconds(150))
            }
            return killed
        }
        let report = await handle.wait()
        killer.cancel()
        let killed = await killer.value
        #expect(report.status == .succeeded, "\(report.error ?? "")")
        #expect(killed > 0, "no connection was killed: the test proved nothing")
        let events = try await journal.events(of: "k")
        // Each step's start and outcome, the run's start and end, the close;
        // in order (log lines and progress take numbers but are not journaled).
        #expect(events.count == 30 * 2 + 3)
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.sequence < $1.sequence })
        #expect(Set(events.compactMap { $0.kind == .step(.succeeded) ? $0.stepID : nil }).count == 30)
        let rows = try await cluster.psql("SELECT count(*) FROM atomd.events WHERE run_id = 'k'", database: database)
        #expect(rows.trimmingCharacters(in: .whitespacesAndNewlines) == "\(30 * 2 + 3)")
        await journal.close()
    }

    /// The owner's lock lives on a connection: cut by the server, or lost in
    /// a restart, it is taken again, so a second agent is still refused.
    @Test func theOwnersLockIsTakenAgainAfterItsConnectionIsCut() async throws {
        let cluster = try await PostgresCluster.start()
        let (journal, database) = try await open(cluster)
        try await journal.claim(as: .agent)
        func held() async throws -> Bool {
            let count = try await cluster.psql("""
                SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                WHERE l.locktype = 'advisory' AND l.mode = 'ExclusiveLock' AND l.granted AND d.datname = '\(database)'
                """, database: "postgres")
            return count.trimmingCharacters(in: .whitespacesAndNewlines) == "1"
        }
        #expect(try await held())
        for cut in ["pg_terminate_backend", "a restart"] {
            if cut == "a restart" {
                try await cluster.stop(mode: "immediate")
                try await cluster.startServer()
            } else {
                #expect(try await cluster.terminateBackends(database) > 0)
            }
            let deadline = ContinuousClock.now + .seconds(30)
            while !(try await held()) {
                try #require(ContinuousClock.now < deadline, "the lock was not taken again within 30 s after \(cut)")
                try await Task.sleep(for: .milliseconds(100))
            }
            let other = try await open(cluster, database: database)
            await #expect(throws: JournalError.self, "a second agent after \(cut)") { try await other.claim(as: .agent) }
            await other.close()
        }
        let closing = ContinuousClock.now
        await journal.close()
        #expect(ContinuousClock.now - closing < .seconds(10), "closing waited \(ContinuousClock.now - closing)")
        try await cluster.stop(mode: "immediate")
    }

    /// The cluster's disk fills up: writes wait (the server refuses them, or
    /// stops), and go on once there is room again. Nothing is lost.
    @Test func aFullDiskHoldsWritesUntilThereIsRoom() async throws {
        let mount = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-pgfull-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        try await PostgresCluster.command(["/bin/mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", mount])
        defer { _ = try? PostgresCluster.commandNow(["/bin/umount", "-l", mount]); rmdir(mount) }
        let cluster = try await PostgresCluster.start(directory: mount + "/pg", initdbOptions: ["--wal-segsize=1"])
        let (journal, database) = try await open(cluster)
        try await journal.createRun(NewRun(id: "r", jobName: "j", jobFile: "j.yaml", jobText: "x", vars: [:]))
        try await journal.record([event(1)])
        // Fill every byte left, as root, beside the cluster.
        let filler = mount + "/filler"
        _ = try? await PostgresCluster.command(["/bin/dd", "if=/dev/zero", "of=" + filler, "bs=1M"])
        let big = String(repeating: "x", count: 256 * 1024)
        let done = Flag()
        let write = Task {
            defer { done.raise() }
            try await journal.record((2...40).map {
                EngineEvent(sequence: $0, runID: "r", kind: .note("big"), time: Date(), detail: big)
            })
        }
        try await Task.sleep(for: .seconds(2))
        #expect(!done.isRaised, "a write returned though the disk was full")
        unlink(filler)
        // A server that stopped for want of space for its WAL comes back.
        if (try? await cluster.psql("SELECT 1", database: database)) == nil { try await cluster.startServer() }
        try await write.value
        let stored = try await cluster.psql("SELECT count(*) FROM atomd.events", database: database)
        #expect(stored.trimmingCharacters(in: .whitespacesAndNewlines) == "40")
        await journal.close()
        try await cluster.stop(mode: "immediate")
    }
}

/// Whether a task has finished, read from the test.
private final class Flag: Sendable {
    private let raised = Atomic(false)
    var isRaised: Bool { raised.load(ordering: .sequentiallyConsistent) }
    func raise() { raised.store(true, ordering: .sequentiallyConsistent) }
}
