import AtomdEngine
import Foundation

/// A journal the agent and the CLI can use, whatever stores it: the engine's
/// `Journal` (events, durably), the runs' own records, and the read side
/// (runs, steps, events, open runs, retention, submissions). SQLite
/// (`DurableJournal`) implements it; the agent and the CLI see only this,
/// so that another backend (PostgreSQL, issue 35) can take its place.
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
    func runs(status: RunStatus?, limit: Int) throws(JournalError) -> [JournaledRun]
    func run(_ id: String) throws(JournalError) -> JournaledRun?
    /// The run that `file` in the spool's processing/ became, if it got so far.
    func run(spoolFile file: String) throws(JournalError) -> JournaledRun?
    /// The run a submission (`atomd submit`'s token) became, once it started.
    func run(submission token: String) throws(JournalError) -> JournaledRun?
    /// Runs to resume: not closed, oldest first.
    func openRuns() throws(JournalError) -> [JournaledRun]
    /// The steps that have had a transition, in the order they first did.
    func steps(of runID: String) throws(JournalError) -> [JournaledStep]
    /// The run's history in order, `after` a sequence number.
    func events(of runID: String, after sequence: Int) throws(JournalError) -> [EngineEvent]

    /// The runs `prune` would delete: closed before `cutoff`, tied to no spool file.
    func runs(closedBefore cutoff: Date) throws(JournalError) -> [String]
    /// Deletes those runs with their steps and events, in one transaction; their ids.
    func prune(closedBefore cutoff: Date) async throws -> [String]
}

extension DurableJournal: JournalStore {
    public var location: String { path }
}

extension JournalStore {
    /// The run's whole history, in order.
    public func events(of runID: String) throws(JournalError) -> [EngineEvent] {
        try events(of: runID, after: 0)
    }
}
