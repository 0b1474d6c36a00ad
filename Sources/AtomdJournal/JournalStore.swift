import AtomdEngine
import Foundation

/// A journal the agent and the CLI can use, whatever stores it: the engine's
/// `Journal` (events, durably), the runs' own records, and the read side
/// (runs, steps, events, open runs, retention, submissions). SQLite
/// (`DurableJournal`) and PostgreSQL (`PostgresJournal`) implement it; the
/// agent and the CLI see only this. Reads are async: PostgreSQL answers
/// over the network, and says it is unreachable rather than hang.
public protocol JournalStore: Journal {
    /// Where the journal is, for messages: a file, or a database.
    var location: String { get }
    /// Transactions committed since it was opened.
    var transactionCount: Int { get }

    /// Records a run before its first event.
    func createRun(_ run: NewRun) async throws
    /// Ties the spool file `file` to the run, so a restart does not start it again.
    func holdSpoolFile(_ file: String, for runID: String) async throws
    func releaseSpoolFile(of runID: String) async throws
    /// Unties every spool file but those still `present`.
    func releaseSpoolFiles(except present: Set<String>) async throws

    /// Newest first, at most `limit`, of one status when given.
    func runs(status: RunStatus?, limit: Int) async throws(JournalError) -> [JournaledRun]
    func run(_ id: String) async throws(JournalError) -> JournaledRun?
    /// The run that `file` in the spool's processing/ became, if it got so far.
    func run(spoolFile file: String) async throws(JournalError) -> JournaledRun?
    /// The run a submission (`atomd submit`'s token) became, once it started.
    func run(submission token: String) async throws(JournalError) -> JournaledRun?
    /// Runs to resume: not closed, oldest first.
    func openRuns() async throws(JournalError) -> [JournaledRun]
    /// The steps that have had a transition, in the order they first did.
    func steps(of runID: String) async throws(JournalError) -> [JournaledStep]
    /// The run's history in order, `after` a sequence number.
    func events(of runID: String, after sequence: Int) async throws(JournalError) -> [EngineEvent]

    /// The runs `prune` would delete: closed before `cutoff`, tied to no spool file.
    func runs(closedBefore cutoff: Date) async throws(JournalError) -> [String]
    /// Deletes those runs with their steps and events, in one transaction; their ids.
    func prune(closedBefore cutoff: Date) async throws -> [String]
    /// Takes the journal for one agent alone, or for commands side by side,
    /// for as long as it is open; says at once who holds it otherwise. On
    /// SQLite the home's lock (`HomeOwnership`) does this, and this does nothing.
    func claim(as kind: HomeOwnership.Kind) async throws(JournalError)
    /// Lets go of what it holds (a pool's connections); nothing may use it after.
    func close() async
}

extension DurableJournal: JournalStore {
    public var location: String { path }

    /// SQLite's file closes with the journal's last reference.
    public func close() async {}

    public func claim(as kind: HomeOwnership.Kind) async throws(JournalError) {}
}

extension JournalStore {
    /// Ends a run recorded by `createRun` that could not start (its
    /// variables or secrets were refused): failed and closed, so it is not
    /// left open for ever, to be resumed or to block a copy.
    public func closeUnstarted(_ runID: String, reason: String) async throws {
        try await record([EngineEvent(sequence: 1, runID: runID, kind: .run(.failed), time: Date(), detail: "not started: " + reason),
                          EngineEvent(sequence: 2, runID: runID, kind: .closed, time: Date())])
    }

    /// The run's whole history, in order.
    public func events(of runID: String) async throws(JournalError) -> [EngineEvent] {
        try await events(of: runID, after: 0)
    }
}
