import AtomdEngine
@testable import AtomdJournal
import Foundation
import Testing
@testable import AtomdSpec

/// The SQLite journal: what it stores, what it refuses, and group commit.
@Suite struct DurableJournalTests {
    let home = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-journal-\(UUID().uuidString)").path

    private func job(_ steps: String) throws -> (Job, String) {
        let text = "version: 1\nname: j\nsteps:\n" + steps
        return (try JobLoader.load(bytes: Array(text.utf8), file: "j.yaml"), text)
    }

    private func start(_ journal: DurableJournal, _ job: Job, text: String, id: String, world: TestWorld = TestWorld()) async throws -> RunHandle {
        try await journal.createRun(NewRun(id: id, jobName: job.name, jobFile: "j.yaml", jobText: text, vars: [:]))
        let engine = Engine(registry: AtomRegistry(TestAtoms.all(world: world)), journal: journal)
        return try engine.start(RunRequest(job: job, runID: id))
    }

    @Test func aRunIsStoredWithItsJobStepsAndHistory() async throws {
        defer { try? FileManager.default.removeItem(atPath: home) }
        let journal = try DurableJournal.open(home: home)
        let (job, text) = try job("  - id: a\n    uses: test.world\n    with: { flag: a }\n  - id: b\n    uses: test.fail\n    with: { always: true }\n")
        let report = try await start(journal, job, text: text, id: "r1").wait()
        #expect(report.status == .reverted)

        let run = try #require(try journal.run("r1"))
        #expect(run.status == .reverted && !run.isOpen && run.jobText == text)
        #expect(run.jobSHA256 == SHA256.hex(Array(text.utf8)))
        let steps = try journal.steps(of: "r1")
        #expect(steps.map(\.id) == ["a", "b"])
        #expect(steps[0].status == .reverted && steps[0].compensation == "reverted")
        #expect(steps[0].idempotencyKey == "r1/a/1" && steps[0].input == .object(["flag": .string("a")]))
        #expect(steps[1].status == .failed && steps[1].error?.contains("failing as asked") == true)
        let events = try journal.events(of: "r1")
        #expect(events.map(\.sequence) == Array(1...events.count), "no gap, no log line")
        #expect(events.last?.kind == .closed)
        #expect(try journal.openRuns().isEmpty)
        #expect(try journal.runs(status: .reverted).map(\.id) == ["r1"])
        #expect(try journal.runs(status: .succeeded).isEmpty)
    }

    /// The agent's link from a claimed file to its run: found while the file
    /// is in processing/, forgotten once filed, and never shared by two runs.
    @Test func aSpoolFileLeadsToItsRunUntilReleased() async throws {
        defer { try? FileManager.default.removeItem(atPath: home) }
        let journal = try DurableJournal.open(home: home)
        func create(_ id: String, _ file: String) async throws {
            try await journal.createRun(NewRun(id: id, jobName: "j", jobFile: "processing/" + file, jobText: "x", vars: [:], spoolFile: file))
        }
        try await create("r1", "a.yaml")
        try await create("r2", "b.yaml")
        #expect(try journal.run(spoolFile: "a.yaml")?.id == "r1")
        try await journal.releaseSpoolFile(of: "r1")
        #expect(try journal.run(spoolFile: "a.yaml") == nil)
        #expect(try journal.run("r1")?.spoolFile == nil, "the run itself stays")
        // A new a.yaml; then b.yaml's run is filed but its release was lost
        // (crash) and a new b.yaml claims the name: the newest run wins.
        try await create("r3", "a.yaml")
        try await create("r4", "b.yaml")
        #expect(try journal.run(spoolFile: "b.yaml")?.id == "r4")
        #expect(try journal.run("r2")?.spoolFile == nil)
        try await journal.releaseSpoolFiles(except: ["b.yaml"])
        #expect(try journal.run(spoolFile: "a.yaml") == nil)
        #expect(try journal.run(spoolFile: "b.yaml")?.id == "r4")
    }

    @Test func aRunCutShortIsResumedFromWhatTheFileHolds() async throws {
        defer { try? FileManager.default.removeItem(atPath: home) }
        let (job, text) = try job("  - id: a\n    uses: test.world\n    with: { flag: a }\n  - id: b\n    uses: test.world\n    with: { flag: b }\n")
        let world = TestWorld()
        do {
            let journal = try DurableJournal.open(home: home)
            try await journal.createRun(NewRun(id: "r2", jobName: job.name, jobFile: "j.yaml", jobText: text, vars: [:]))
            // What a crash after a's start leaves: the run and a, running.
            let full = try await start(try DurableJournal.open(home: home + "-scratch"), job, text: text, id: "r2", world: TestWorld()).wait()
            #expect(full.status == .succeeded)
            for event in try DurableJournal.open(home: home + "-scratch").events(of: "r2").prefix(2) {
                try await journal.record([event])
            }
            try? FileManager.default.removeItem(atPath: home + "-scratch")
        }
        let reopened = try DurableJournal.open(home: home)
        #expect(try reopened.openRuns().map(\.id) == ["r2"])
        #expect(try reopened.steps(of: "r2").first?.status == .running)
        let engine = Engine(registry: AtomRegistry(TestAtoms.all(world: world)), journal: reopened)
        let report = try await engine.resume(RunRequest(job: job, runID: "r2"), history: try reopened.events(of: "r2")).wait()
        #expect(report.status == .succeeded)
        #expect(world.flags == ["a", "b"])
        #expect(try reopened.openRuns().isEmpty)
    }

    @Test func concurrentRunsShareCommits() async throws {
        defer { try? FileManager.default.removeItem(atPath: home) }
        let journal = try DurableJournal.open(home: home)
        let (job, text) = try job((1...20).map { "  - id: s\($0)\n    uses: test.noop\n" }.joined())
        let handles = try await withThrowingTaskGroup(of: RunHandle.self) { group in
            for index in 0..<16 { group.addTask { try await start(journal, job, text: text, id: "c\(index)") } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for handle in handles { #expect(await handle.wait().status == .succeeded) }
        let events = try (0..<16).map { try journal.events(of: "c\($0)").count }.reduce(0, +)
        #expect(events == 16 * (20 * 2 + 3))
        // Alone, each run makes 23 commits (see below): shared, far fewer.
        #expect(journal.transactionCount < 16 * 23, "\(journal.transactionCount) transactions for \(events) events")
    }

    /// One commit per step: each start carries the outcome before it, and the
    /// last outcome rides with the run's own status. Every event is stored,
    /// in order.
    @Test func aLinearRunCommitsOncePerStep() async throws {
        defer { try? FileManager.default.removeItem(atPath: home) }
        let journal = try DurableJournal.open(home: home)
        let (job, text) = try job((1...100).map { "  - id: s\($0)\n    uses: test.noop\n" }.joined())
        #expect(try await start(journal, job, text: text, id: "one").wait().status == .succeeded)
        let events = try journal.events(of: "one")
        #expect(events.count == 100 * 2 + 3)
        #expect(events.map(\.sequence) == Array(1...events.count))
        // The run's start, 100 step starts, the last outcome with the run's
        // end, the close.
        #expect(journal.transactionCount == 100 + 3)
        #expect(try journal.steps(of: "one").allSatisfy { $0.status == .succeeded })
    }

    @Test func aFileThatIsNotAJournalIsRefusedAndLeftAlone() throws {
        defer { try? FileManager.default.removeItem(atPath: home) }
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let garbage = Data((0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        #expect(FileManager.default.createFile(atPath: home + "/journal.sqlite", contents: garbage))
        let error = #expect(throws: JournalError.self) { try DurableJournal.open(home: home) }
        #expect(error?.message.contains("left untouched") == true, "\(error?.message ?? "")")
        #expect(FileManager.default.contents(atPath: home + "/journal.sqlite") == garbage)
    }

    @Test func aDamagedJournalIsRefusedAndLeftAlone() async throws {
        defer { try? FileManager.default.removeItem(atPath: home) }
        let path = home + "/journal.sqlite"
        do {
            let journal = try DurableJournal.open(home: home)
            let (job, text) = try job((1...200).map { "  - id: s\($0)\n    uses: test.noop\n" }.joined())
            _ = try await start(journal, job, text: text, id: "big").wait()
        }
        // Move everything into the main file, then scribble over pages in the middle.
        try python("import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('PRAGMA journal_mode=DELETE'); c.close()", path)
        #expect(!FileManager.default.fileExists(atPath: path + "-wal"))
        var bytes = try #require(FileManager.default.contents(atPath: path))
        #expect(bytes.count > 16_384)
        for offset in (bytes.count / 2)..<(bytes.count / 2 + 4096) { bytes[offset] = 0xA5 }
        try bytes.write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: JournalError.self) { try DurableJournal.open(home: home) }
        #expect(error?.message.contains("cannot use the journal") == true, "\(error?.message ?? "")")
        #expect(FileManager.default.contents(atPath: path) == bytes)
    }

    @Test func aJournalFromANewerAtomdIsRefused() async throws {
        defer { try? FileManager.default.removeItem(atPath: home) }
        _ = try DurableJournal.open(home: home)
        try python("import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"INSERT INTO grdb_migrations VALUES ('v99')\"); c.commit()",
                   home + "/journal.sqlite")
        let error = #expect(throws: JournalError.self) { try DurableJournal.open(home: home) }
        #expect(error?.message.contains("newer atomd") == true, "\(error?.message ?? "")")
    }

    @Test func anotherProgramsDatabaseIsRefusedAndLeftAlone() throws {
        defer { try? FileManager.default.removeItem(atPath: home) }
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        let path = home + "/journal.sqlite"
        try python("import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('CREATE TABLE accounts (id)'); c.commit()", path)
        let before = FileManager.default.contents(atPath: path)
        let error = #expect(throws: JournalError.self) { try DurableJournal.open(home: home) }
        #expect(error?.message.contains("not an atomd journal") == true, "\(error?.message ?? "")")
        #expect(FileManager.default.contents(atPath: path) == before)
    }

    @Test func aHomeThatIsAFileIsAClearError() throws {
        defer { try? FileManager.default.removeItem(atPath: home) }
        #expect(FileManager.default.createFile(atPath: home, contents: Data("x".utf8)))
        let error = #expect(throws: JournalError.self) { try DurableJournal.open(home: home) }
        #expect(error?.message.contains("is not a directory") == true, "\(error?.message ?? "")")
    }

    /// The journal holds every run: only the agent's user may read it, even
    /// in a home that others can enter, and an older journal made readable
    /// is tightened when opened.
    @Test func theJournalAndItsWALFilesAreTheOwnersAlone() async throws {
        defer { try? FileManager.default.removeItem(atPath: home) }
        #expect(mkdir(home, 0o755) == 0)
        chmod(home, 0o755)
        let journal = try DurableJournal.open(home: home)
        try await journal.createRun(NewRun(id: "r1", jobName: "t", jobFile: "j.yaml", jobText: "x", vars: [:]))
        for file in ["journal.sqlite", "journal.sqlite-wal", "journal.sqlite-shm"] {
            var info = stat()
            #expect(stat(home + "/" + file, &info) == 0, "\(file) missing")
            #expect(info.st_mode & 0o777 == 0o600, "\(file) has mode \(String(info.st_mode & 0o777, radix: 8))")
        }
        chmod(home + "/journal.sqlite", 0o644)
        _ = try DurableJournal.open(home: home)
        var info = stat()
        #expect(stat(home + "/journal.sqlite", &info) == 0 && info.st_mode & 0o777 == 0o600)
    }

    /// StrictModes: a home others can write to is refused, with the fix.
    @Test func aHomeWritableByOthersIsRefused() throws {
        defer { try? FileManager.default.removeItem(atPath: home) }
        #expect(mkdir(home, 0o700) == 0)
        chmod(home, 0o777)
        let error = #expect(throws: JournalError.self) { try DurableJournal.open(home: home) }
        #expect(error?.message.contains("writable by everyone (mode 777)") == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("chmod go-w \(home)") == true, "\(error?.message ?? "")")
        #expect(!FileManager.default.fileExists(atPath: home + "/journal.sqlite"), "nothing is created in a refused home")
    }

    /// A mistyped --home is an error: atomd creates the home, never the
    /// directories above it.
    @Test func aHomeWhoseParentIsMissingIsNotCreated() throws {
        let parent = home + "-typo"
        let error = #expect(throws: JournalError.self) { try DurableJournal.open(home: parent + "/deeper/home") }
        #expect(error?.message.contains("does not exist") == true, "\(error?.message ?? "")")
        #expect(!FileManager.default.fileExists(atPath: parent))
    }

    /// Another process opening the journal holds the home's lock: opening
    /// waits for it, and says why when it is held too long.
    @Test func openingWaitsForTheHomesLockAndSaysWhenItIsHeldTooLong() throws {
        defer { try? FileManager.default.removeItem(atPath: home) }
        _ = try DurableJournal.open(home: home)
        let other = open(home, O_RDONLY | O_DIRECTORY)
        try #require(other >= 0)
        defer { close(other) }
        try #require(flock(other, LOCK_EX) == 0)
        let error = #expect(throws: JournalError.self) {
            try JournalOpeningLock.holding(directory: home, limit: .milliseconds(100)) {}
        }
        #expect(error?.message.contains("another atomd process has been opening it") == true, "\(error?.message ?? "")")
        flock(other, LOCK_UN)
        let opened = try JournalOpeningLock.holding(directory: home, limit: .milliseconds(100)) { true }
        #expect(opened)
        // Released once opened: another process can take it. A child that
        // another test spawns meanwhile may hold the close-on-exec
        // descriptor until its exec, so the lock is awaited briefly.
        _ = try DurableJournal.open(home: home)
        let deadline = ContinuousClock.now + .seconds(5)
        while flock(other, LOCK_EX | LOCK_NB) != 0, ContinuousClock.now < deadline { usleep(1000) }
        #expect(flock(other, LOCK_EX | LOCK_NB) == 0)
    }

    @Test func theCrashHookReadsOnlyWhatItUnderstands() throws {
        #expect(try CrashHook.fromEnvironment([:]).isArmed == false)
        #expect(try CrashHook.fromEnvironment(["ATOMD_CRASH_AT": "3", "ATOMD_CRASH_WHEN": "after"]).isArmed)
        #expect(throws: JournalError.self) { try CrashHook.fromEnvironment(["ATOMD_CRASH_AT": "0"]) }
        #expect(throws: JournalError.self) { try CrashHook.fromEnvironment(["ATOMD_CRASH_AT": "x"]) }
        #expect(throws: JournalError.self) { try CrashHook.fromEnvironment(["ATOMD_CRASH_AT": "2", "ATOMD_CRASH_WHEN": "during"]) }
    }

    /// SQLite's own Python binding, to change a journal behind atomd's back.
    private func python(_ script: String, _ argument: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, argument]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    @Test func sha256MatchesTheStandardVectors() {
        #expect(SHA256.hex(Array("".utf8)) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(SHA256.hex(long) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }
}

/// `synchronous` read back from the live connection on every way a journal
/// is opened: GRDB's WAL set-up used to reset it to NORMAL.
@Suite struct JournalSyncSettingTests {
    @Test(arguments: DurableJournal.Durability.allCases)
    func theLiveConnectionHasTheAskedSetting(_ durability: DurableJournal.Durability) throws {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-sync-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: home) }
        // A new journal, then the same file opened again (already in WAL
        // mode), through both ways in.
        #expect(try DurableJournal.open(home: home, durability: durability).synchronous() == durability.synchronous)
        #expect(try DurableJournal.open(home: home, durability: durability).synchronous() == durability.synchronous)
        #expect(try DurableJournal(path: home + "/journal.sqlite", durability: durability).synchronous() == durability.synchronous)
    }
}
