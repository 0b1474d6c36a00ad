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
