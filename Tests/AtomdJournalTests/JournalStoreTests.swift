import AtomdEngine
@testable import AtomdJournal
@testable import AtomdJournalPostgres
import AtomdSpec
import Foundation
import Testing

/// What every journal keeps, on SQLite and on PostgreSQL alike: one suite,
/// run against both backends.
@Suite(.timeLimit(.minutes(2))) struct JournalStoreTests {
    private func job(_ steps: String) throws -> (Job, String) {
        let text = "version: 1\nname: j\nsteps:\n" + steps
        return (try JobLoader.load(bytes: Array(text.utf8), file: "j.yaml"), text)
    }

    private func start(_ journal: any JournalStore, _ job: Job, text: String, id: String, world: TestWorld = TestWorld()) async throws -> RunHandle {
        try await journal.createRun(NewRun(id: id, jobName: job.name, jobFile: "j.yaml", jobText: text, vars: [:]))
        let engine = Engine(registry: AtomRegistry(TestAtoms.all(world: world)), journal: journal)
        return try engine.start(RunRequest(job: job, runID: id))
    }

    @Test(arguments: JournalBackend.allCases)
    func aRunIsStoredWithItsJobStepsAndHistory(_ backend: JournalBackend) async throws {
        let place = try await backend.place()
        defer { place.remove() }
        let journal = try await place.open()
        let (job, text) = try job("  - id: a\n    uses: test.world\n    with: { flag: a }\n  - id: b\n    uses: test.fail\n    with: { always: true }\n")
        let report = try await start(journal, job, text: text, id: "r1").wait()
        #expect(report.status == .reverted)

        // Read back through a journal opened anew: nothing is only in memory.
        let reader = try await place.open()
        let run = try #require(try await reader.run("r1"))
        #expect(run.status == .reverted && !run.isOpen && run.jobText == text)
        #expect(run.jobSHA256 == SHA256.hex(Array(text.utf8)))
        #expect(run.startedAt != nil && run.finishedAt != nil && run.closedAt != nil && run.submitter == getuid())
        let steps = try await reader.steps(of: "r1")
        #expect(steps.map(\.id) == ["a", "b"])
        #expect(steps[0].status == .reverted && steps[0].compensation == "reverted")
        #expect(steps[0].idempotencyKey == "r1/a/1" && steps[0].input == .object(["flag": .string("a")]))
        #expect(steps[0].attempts == 1 && steps[0].startedAt != nil && steps[0].finishedAt != nil)
        #expect(steps[1].status == .failed && steps[1].error?.contains("failing as asked") == true)
        let events = try await reader.events(of: "r1")
        #expect(events.map(\.sequence) == Array(1...events.count), "no gap, no log line")
        #expect(events.last?.kind == .closed)
        #expect(try await reader.events(of: "r1", after: 3).map(\.sequence) == Array(4...events.count))
        #expect(try await reader.openRuns().isEmpty)
        #expect(try await reader.runs(status: .reverted, limit: 50).map(\.id) == ["r1"])
        #expect(try await reader.runs(status: .succeeded, limit: 50).isEmpty)
        await reader.close()
        await journal.close()
    }

    /// Newest first, at most `limit`; variables the operator set are merged
    /// into the run's.
    @Test(arguments: JournalBackend.allCases)
    func runsAreListedNewestFirstAndSetVariablesAreKept(_ backend: JournalBackend) async throws {
        let place = try await backend.place()
        defer { place.remove() }
        let journal = try await place.open()
        for (index, id) in ["old", "mid", "new"].enumerated() {
            try await journal.createRun(NewRun(id: id, jobName: "j", jobFile: "j.yaml", jobText: "x", vars: ["n": .integer(Int64(index))],
                                               createdAt: Date(timeIntervalSince1970: 1_000 + Double(index)), submitter: 1234))
        }
        #expect(try await journal.runs(status: nil, limit: 2).map(\.id) == ["new", "mid"])
        #expect(try await journal.runs(status: .queued, limit: 50).map(\.id) == ["new", "mid", "old"])
        #expect(try await journal.openRuns().map(\.id) == ["old", "mid", "new"], "oldest first")
        #expect(try await journal.run("mid")?.submitter == 1234)
        try await journal.record([EngineEvent(sequence: 1, runID: "mid", kind: .note("vars set"), time: Date(),
                                              data: .object(["set_vars": .object(["region": .string("eu"), "n": .integer(9)])]))])
        #expect(try await journal.run("mid")?.vars == ["n": .integer(9), "region": .string("eu")])
        #expect(try await journal.run("nope") == nil)
        await journal.close()
    }

    /// The agent's link from a claimed file to its run: found while the file
    /// is in processing/, forgotten once filed, and never shared by two runs.
    @Test(arguments: JournalBackend.allCases)
    func aSpoolFileLeadsToItsRunUntilReleased(_ backend: JournalBackend) async throws {
        let place = try await backend.place()
        defer { place.remove() }
        let journal = try await place.open()
        func create(_ id: String, _ file: String) async throws {
            try await journal.createRun(NewRun(id: id, jobName: "j", jobFile: "processing/" + file, jobText: "x", vars: [:], spoolFile: file,
                                               submission: "token-" + id))
        }
        try await create("r1", "a.yaml")
        try await create("r2", "b.yaml")
        #expect(try await journal.run(spoolFile: "a.yaml")?.id == "r1")
        #expect(try await journal.run(submission: "token-r2")?.id == "r2")
        try await journal.releaseSpoolFile(of: "r1")
        #expect(try await journal.run(spoolFile: "a.yaml") == nil)
        #expect(try await journal.run("r1")?.spoolFile == nil, "the run itself stays")
        // A new a.yaml; then b.yaml's run is filed but its release was lost
        // (crash) and a new b.yaml claims the name: the newest run wins.
        try await create("r3", "a.yaml")
        try await create("r4", "b.yaml")
        #expect(try await journal.run(spoolFile: "b.yaml")?.id == "r4")
        #expect(try await journal.run("r2")?.spoolFile == nil)
        try await journal.releaseSpoolFiles(except: ["b.yaml"])
        #expect(try await journal.run(spoolFile: "a.yaml") == nil)
        #expect(try await journal.run(spoolFile: "b.yaml")?.id == "r4")
        try await journal.holdSpoolFile("c.yaml", for: "r1")
        #expect(try await journal.run(spoolFile: "c.yaml")?.id == "r1")
        await journal.close()
    }

    @Test(arguments: JournalBackend.allCases)
    func aRunCutShortIsResumedFromWhatTheJournalHolds(_ backend: JournalBackend) async throws {
        let place = try await backend.place(), scratch = try await backend.place()
        defer { place.remove(); scratch.remove() }
        let (job, text) = try job("  - id: a\n    uses: test.world\n    with: { flag: a }\n  - id: b\n    uses: test.world\n    with: { flag: b }\n")
        let world = TestWorld()
        do {
            let journal = try await place.open()
            try await journal.createRun(NewRun(id: "r2", jobName: job.name, jobFile: "j.yaml", jobText: text, vars: [:]))
            // What a crash after a's start leaves: the run and a, running.
            let full = try await start(try await scratch.open(), job, text: text, id: "r2", world: TestWorld()).wait()
            #expect(full.status == .succeeded)
            for event in try await scratch.open().events(of: "r2").prefix(2) {
                try await journal.record([event])
            }
            await journal.close()
        }
        let reopened = try await place.open()
        #expect(try await reopened.openRuns().map(\.id) == ["r2"])
        #expect(try await reopened.steps(of: "r2").first?.status == .running)
        let engine = Engine(registry: AtomRegistry(TestAtoms.all(world: world)), journal: reopened)
        let report = try await engine.resume(RunRequest(job: job, runID: "r2"), history: try await reopened.events(of: "r2")).wait()
        #expect(report.status == .succeeded)
        #expect(world.flags == ["a", "b"])
        #expect(try await reopened.openRuns().isEmpty)
        await reopened.close()
    }

    /// Runs at once: each run's every transition stored, in order, none lost
    /// or mixed up with another's; on SQLite they share commits.
    @Test(arguments: JournalBackend.allCases)
    func concurrentRunsAreEachStoredWhole(_ backend: JournalBackend) async throws {
        let place = try await backend.place()
        defer { place.remove() }
        let journal = try await place.open()
        let (job, text) = try job((1...20).map { "  - id: s\($0)\n    uses: test.noop\n" }.joined())
        let handles = try await withThrowingTaskGroup(of: RunHandle.self) { group in
            for index in 0..<16 { group.addTask { try await start(journal, job, text: text, id: "c\(index)") } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for handle in handles { #expect(await handle.wait().status == .succeeded) }
        var events = 0
        for index in 0..<16 {
            let history = try await journal.events(of: "c\(index)")
            #expect(history.map(\.sequence) == Array(1...history.count) && history.allSatisfy { $0.runID == "c\(index)" })
            events += history.count
        }
        #expect(events == 16 * (20 * 2 + 3))
        if backend == .sqlite {
            // Alone, each run makes 23 commits (see below): shared, far fewer.
            #expect(journal.transactionCount < 16 * 23, "\(journal.transactionCount) transactions for \(events) events")
        }
        await journal.close()
    }

    /// One commit per step: each start carries the outcome before it, and the
    /// last outcome rides with the run's own status. Every event is stored,
    /// in order.
    @Test(arguments: JournalBackend.allCases)
    func aLinearRunCommitsOncePerStep(_ backend: JournalBackend) async throws {
        let place = try await backend.place()
        defer { place.remove() }
        let journal = try await place.open()
        let (job, text) = try job((1...100).map { "  - id: s\($0)\n    uses: test.noop\n" }.joined())
        #expect(try await start(journal, job, text: text, id: "one").wait().status == .succeeded)
        let events = try await journal.events(of: "one")
        #expect(events.count == 100 * 2 + 3)
        #expect(events.map(\.sequence) == Array(1...events.count))
        // The run's start, 100 step starts, the last outcome with the run's
        // end, the close.
        #expect(journal.transactionCount == 100 + 3)
        #expect(try await journal.steps(of: "one").allSatisfy { $0.status == .succeeded })
        await journal.close()
    }

    /// Retention deletes closed runs with their steps and events, and never
    /// an open run or one still tied to a spool file.
    @Test(arguments: JournalBackend.allCases)
    func pruningDeletesOnlyClosedRunsOfNoSpoolFile(_ backend: JournalBackend) async throws {
        let place = try await backend.place()
        defer { place.remove() }
        let journal = try await place.open()
        let (job, text) = try job("  - id: a\n    uses: test.noop\n")
        #expect(try await start(journal, job, text: text, id: "closed").wait().status == .succeeded)
        #expect(try await start(journal, job, text: text, id: "held").wait().status == .succeeded)
        try await journal.holdSpoolFile("held.yaml", for: "held")
        try await journal.createRun(NewRun(id: "open", jobName: "j", jobFile: "j.yaml", jobText: text, vars: [:]))
        let later = Date().addingTimeInterval(60)
        #expect(try await journal.runs(closedBefore: later) == ["closed"])
        #expect(try await journal.prune(closedBefore: Date().addingTimeInterval(-60)).isEmpty, "none closed that long ago")
        #expect(try await journal.prune(closedBefore: later) == ["closed"])
        #expect(try await journal.run("closed") == nil)
        #expect(try await journal.events(of: "closed").isEmpty)
        #expect(try await journal.steps(of: "closed").isEmpty)
        #expect(try await journal.run("held") != nil)
        #expect(try await journal.run("open") != nil)
        #expect(try await journal.events(of: "held").count > 3)
        await journal.close()
    }
}

/// Values no database refuses to store: a failure whose text holds a NUL
/// (a step printed binary) is stored, or the run could not record that it
/// failed.
@Suite(.timeLimit(.minutes(1))) struct JournalStoreValueTests {
    @Test(arguments: JournalBackend.allCases)
    func aFailureWhoseTextHoldsANULIsStored(_ backend: JournalBackend) async throws {
        let place = try await backend.place()
        defer { place.remove() }
        let journal = try await place.open()
        try await journal.createRun(NewRun(id: "nul", jobName: "j", jobFile: "j.yaml", jobText: "x", vars: [:]))
        try await journal.record([
            EngineEvent(sequence: 1, runID: "nul", kind: .run(.running), time: Date()),
            EngineEvent(sequence: 2, runID: "nul", stepPath: "a", stepID: "a", attempt: 1, kind: .step(.running), time: Date(),
                        data: .object(["text": .string("in\u{0}put")]), idempotencyKey: "nul/a/1"),
            EngineEvent(sequence: 3, runID: "nul", stepPath: "a", stepID: "a", attempt: 1, kind: .step(.failed), time: Date(),
                        detail: "exit 5: x\u{0}y 'quoted' \\ \"double\" ☃"),
        ])
        let step = try #require(try await journal.steps(of: "nul").first)
        #expect(step.status == .failed)
        #expect(step.error?.hasPrefix("exit 5: x") == true, "\(step.error ?? "-")")
        #expect(step.input == .object(["text": .string("in\u{0}put")]), "a JSON value keeps its NUL, escaped")
        await journal.close()
    }
}
