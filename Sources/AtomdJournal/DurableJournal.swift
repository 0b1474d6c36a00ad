import AtomdEngine
import AtomdSpec
import Foundation
import GRDB

/// The engine's journal on SQLite (DESIGN.md section 5): WAL, fsync'd
/// commits, one transaction per `record` (a step's start with the outcome
/// before it), shared between concurrent runs.
///
/// Opening never repairs or replaces a file: a journal that cannot be read
/// is reported and left exactly as it is.
public final class DurableJournal: Journal {
    /// `full`: every commit is fsync'd before the engine goes on, so a
    /// power loss loses nothing the engine acted on. `normal`: the WAL is
    /// fsync'd only at checkpoints, so a crash or `kill -9` of atomd loses
    /// nothing, but a power loss or kernel crash may lose the last
    /// transitions, whose effects then happen again or are left behind.
    public enum Durability: String, Sendable, CaseIterable {
        case full, normal

        /// The value of SQLite's `PRAGMA synchronous`.
        public var synchronous: Int { self == .full ? 2 : 1 }
    }

    /// How a journal connection is set up: WAL, then `synchronous`. The
    /// order matters: GRDB's own WAL set-up (`journalMode = .wal`) sets
    /// `synchronous = NORMAL` after any `prepareDatabase`, which silently
    /// turned `full` into `normal` before. Public for the benchmarks, which
    /// must measure the same commits.
    public static func configuration(_ durability: Durability) -> Configuration {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.label = "atomd.journal"
        configuration.prepareDatabase { db in
            let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            guard mode == "wal" else { throw JournalError("SQLite would not switch it to WAL mode (it answered \(mode ?? "nothing"))") }
            try db.execute(sql: "PRAGMA synchronous = \(durability.synchronous)")
        }
        return configuration
    }

    public let path: String
    let database: DatabaseQueue
    let crashHook: CrashHook
    /// One item is one call of `record`: its events are one transaction,
    /// or part of one shared with other runs.
    private let committer: GroupCommit<[EngineEvent]>

    public init(path: String, durability: Durability = .full, crashHook: CrashHook = CrashHook(at: nil)) throws(JournalError) {
        self.path = path
        self.crashHook = crashHook
        let configuration = Self.configuration(durability)
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        // A lock that is not given is not the journal's fault: its error is
        // not wrapped in the advice to move the journal aside.
        database = try JournalOpeningLock.holding(directory: directory) { () throws(JournalError) in
            try Self.openChecked(path, configuration: configuration)
        }
        let database = database
        committer = GroupCommit(maxBatch: crashHook.isArmed ? 1 : 256) { [crashHook] batches in
            try crashHook.write {
                try database.write { db in
                    for event in batches.joined() { try JournalWrites.apply(event, in: db) }
                }
            }
        }
    }

    /// A journal to read only, on a connection opened read-only (the
    /// source of `atomd journal copy`); any write fails.
    static func reader(_ database: DatabaseQueue, path: String) -> DurableJournal {
        DurableJournal(reading: database, path: path)
    }

    private init(reading database: DatabaseQueue, path: String) {
        self.path = path
        self.database = database
        crashHook = CrashHook(at: nil)
        committer = GroupCommit(maxBatch: 1) { _ in throw JournalError("\(path) is open to be read only") }
    }

    /// `PRAGMA synchronous` as the live connection has it: 2 is FULL, 1 NORMAL.
    public func synchronous() throws(JournalError) -> Int {
        do {
            return try database.read { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 }
        } catch {
            throw JournalError("cannot read the journal's settings: \(error)")
        }
    }

    /// Opens the journal at `path`, checking an existing one first, and
    /// brings its schema up to date. Run under the home's opening lock.
    private static func openChecked(_ path: String, configuration: Configuration) throws(JournalError) -> DatabaseQueue {
        do {
            var recovering = false
            try protect(path)
            if FileManager.default.fileExists(atPath: path) {
                do {
                    try verify(path)
                } catch let error as DatabaseError where error.resultCode == .SQLITE_READONLY {
                    // After a crash, SQLite must first replay the WAL, which a
                    // read-only connection may not do: the file is a
                    // database, so it is checked once recovered.
                    recovering = true
                }
            }
            let database = try DatabaseQueue(path: path, configuration: configuration)
            if recovering { try database.read(check) }
            try JournalSchema.migrator.migrate(database)
            return database
        } catch {
            throw JournalError("cannot use the journal \(path): \(error). It was left untouched; "
                               + "move it aside (or restore a backup) to start a new one")
        }
    }

    /// Checks an existing journal through a read-only connection, so that
    /// nothing (not even a checkpoint on close) writes to a damaged file.
    private static func verify(_ path: String) throws {
        var configuration = Configuration()
        configuration.readonly = true
        // Another atomd on the same home may be writing: wait for it.
        configuration.busyMode = .timeout(10)
        let reader = try DatabaseQueue(path: path, configuration: configuration)
        try reader.read(check)
    }

    private static func check(_ db: Database) throws {
        let answer = try String.fetchOne(db, sql: "PRAGMA quick_check") ?? "no answer"
        guard answer == "ok" else { throw JournalError("integrity check failed: \(answer)") }
        // Another program's database is not ours to add tables to.
        let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
        if !tables.isEmpty, !tables.contains("grdb_migrations") {
            throw JournalError("it is a SQLite database, but not an atomd journal (tables: \(tables.prefix(5).joined(separator: ", ")))")
        }
        if try JournalSchema.migrator.hasBeenSuperseded(db) {
            throw JournalError("it was written by a newer atomd")
        }
    }

    /// Opens (creating it, and the home itself but not its parents, if
    /// needed) the journal of an atomd home: `HOME/journal.sqlite`. A home
    /// that others can write to is refused (`TrustedDirectory`).
    public static func open(home: String, durability: Durability = .full,
                            crashHook: CrashHook = CrashHook(at: nil)) throws(JournalError) -> DurableJournal {
        do {
            try TrustedDirectory.create(home)
            try TrustedDirectory.check(home)
        } catch {
            throw JournalError("the atomd home \(error)")
        }
        return try DurableJournal(path: home + "/journal.sqlite", durability: durability, crashHook: crashHook)
    }

    /// The journal and its WAL files are the agent's alone (mode 0600): they
    /// hold every run. SQLite gives the WAL files the database's mode, so the
    /// database is made before SQLite opens it; an older journal readable by
    /// others is tightened.
    private static func protect(_ path: String) throws(JournalError) {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if fd >= 0 {
            Glibc.close(fd)
            return
        }
        guard errno == EEXIST else { throw JournalError("cannot create the journal \(path): \(String(cString: strerror(errno)))") }
        for file in [path, path + "-wal", path + "-shm"] {
            var info = stat()
            guard lstat(file, &info) == 0 else { continue }
            guard info.st_mode & S_IFMT == S_IFREG else {
                throw JournalError("\(file) is not a regular file; move it aside")
            }
            if info.st_mode & 0o077 != 0 { chmod(file, info.st_mode & 0o700) }
        }
    }

    /// Records a new run with the job exactly as submitted, before its first
    /// transition: a resumed run runs this text, not the file as it is now.
    public func createRun(_ run: NewRun) async throws {
        try await write { db in try JournalWrites.insert(run, in: db) }
    }

    /// Ties `runID` to `file` in processing/ again, before the file is
    /// written there: a run reopened by the operator (`--retry`) is then
    /// resumed by the next start like any claimed run.
    public func holdSpoolFile(_ file: String, for runID: String) async throws {
        try await write { db in try db.execute(sql: "UPDATE runs SET spool_file = ? WHERE id = ?", arguments: [file, runID]) }
    }

    /// Forgets which spool file `runID` came from, once it has been filed.
    public func releaseSpoolFile(of runID: String) async throws {
        try await write { db in try db.execute(sql: "UPDATE runs SET spool_file = NULL WHERE id = ?", arguments: [runID]) }
    }

    /// Forgets every spool file but `present`: at start, before anything is
    /// claimed, a file that is no longer in processing/ was filed.
    public func releaseSpoolFiles(except present: Set<String>) async throws {
        try await write { db in
            let held = try String.fetchAll(db, sql: "SELECT spool_file FROM runs WHERE spool_file IS NOT NULL")
            for file in held where !present.contains(file) {
                try db.execute(sql: "UPDATE runs SET spool_file = NULL WHERE spool_file = ?", arguments: [file])
            }
        }
    }

    /// One transaction outside the group commit, on GRDB's own writer queue
    /// (never a thread of Swift's cooperative pool).
    func write(_ body: @escaping @Sendable (Database) throws -> Void) async throws {
        try await crashHook.write { try await database.write(body) }
    }

    /// Commits made for transitions; fewer than transitions when concurrent
    /// runs shared them (group commit).
    public var transactionCount: Int { committer.transactionCount }

    public func record(_ events: [EngineEvent]) async throws {
        let transitions = EventCoding.transitions(events)
        guard !transitions.isEmpty else { return }
        try await committer.submit(transitions)
    }
}

/// What a new run's row holds.
public struct NewRun: Sendable {
    public var id: String
    public var jobName: String
    public var jobFile: String
    public var jobText: String
    /// `--var` overrides; the job's own values come from its text.
    public var vars: [String: JSONValue]
    public var createdAt: Date
    /// The agent's claimed file in processing/, for runs from the spool.
    public var spoolFile: String?
    /// The token `atomd submit` returned, for `--wait`.
    public var submission: String?
    /// `atomd submit --on-failure`: used instead of the job's own.
    public var onFailure: FailurePolicy?
    /// `atomd rehearse`: the failure injected ("after STEP", "instead STEP").
    public var rehearsal: String?
    /// The uid of whoever submitted it (`atomd run`: its caller).
    public var submitter: uid_t

    public init(id: String, jobName: String, jobFile: String, jobText: String, vars: [String: JSONValue], createdAt: Date = Date(),
                spoolFile: String? = nil, submission: String? = nil, onFailure: FailurePolicy? = nil, rehearsal: String? = nil,
                submitter: uid_t = getuid()) {
        self.rehearsal = rehearsal
        self.submitter = submitter
        self.spoolFile = spoolFile
        self.submission = submission
        self.onFailure = onFailure
        self.id = id
        self.jobName = jobName
        self.jobFile = jobFile
        self.jobText = jobText
        self.vars = vars
        self.createdAt = createdAt
    }
}
