import AtomdEngine
import AtomdJournal
import Foundation
import Logging
import PostgresNIO

/// The read side: every read answers within `readTimeout` or says the
/// journal is unreachable.
extension PostgresJournal {
    public func runs(status: RunStatus? = nil, limit: Int = 50) async throws(JournalError) -> [JournaledRun] {
        let limit = max(0, limit)
        if let status {
            return try await rows("""
                SELECT \(unescaped: PostgresReads.runColumns) FROM runs WHERE status = \(status.rawValue)
                ORDER BY created_at DESC, id DESC LIMIT \(limit)
                """, PostgresReads.run)
        }
        return try await rows("""
            SELECT \(unescaped: PostgresReads.runColumns) FROM runs ORDER BY created_at DESC, id DESC LIMIT \(limit)
            """, PostgresReads.run)
    }

    public func run(_ id: String) async throws(JournalError) -> JournaledRun? {
        try await rows("SELECT \(unescaped: PostgresReads.runColumns) FROM runs WHERE id = \(id)", PostgresReads.run).first
    }

    public func run(spoolFile file: String) async throws(JournalError) -> JournaledRun? {
        try await rows("SELECT \(unescaped: PostgresReads.runColumns) FROM runs WHERE spool_file = \(file)", PostgresReads.run).first
    }

    public func run(submission token: String) async throws(JournalError) -> JournaledRun? {
        try await rows("SELECT \(unescaped: PostgresReads.runColumns) FROM runs WHERE submission = \(token)", PostgresReads.run).first
    }

    public func openRuns() async throws(JournalError) -> [JournaledRun] {
        try await rows("""
            SELECT \(unescaped: PostgresReads.runColumns) FROM runs WHERE closed_at IS NULL ORDER BY created_at, id
            """, PostgresReads.run)
    }

    public func steps(of runID: String) async throws(JournalError) -> [JournaledStep] {
        try await rows("SELECT \(unescaped: PostgresReads.stepColumns) FROM steps WHERE run_id = \(runID) ORDER BY ord",
                       PostgresReads.step)
    }

    public func events(of runID: String, after sequence: Int) async throws(JournalError) -> [EngineEvent] {
        try await rows("""
            SELECT \(unescaped: PostgresReads.eventColumns) FROM events WHERE run_id = \(runID) AND sequence > \(sequence)
            ORDER BY sequence
            """, PostgresReads.event).compactMap { $0 }
    }

    public func runs(closedBefore cutoff: Date) async throws(JournalError) -> [String] {
        try await rows("""
            SELECT id FROM runs WHERE closed_at IS NOT NULL AND closed_at < \(cutoff.timeIntervalSince1970) AND spool_file IS NULL
            """) { row in try row.decode(String.self) }
    }

    /// A query's rows, or why the journal cannot answer: within
    /// `readTimeout`, never waiting for a database that is away.
    func rows<T: Sendable>(_ query: PostgresQuery, _ decode: @escaping @Sendable (PostgresRow) throws -> T) async throws(JournalError) -> [T] {
        do {
            return try await Deadline.within(settings.readTimeout) { [client, logger] in
                var result: [T] = []
                for try await row in try await client.query(query, logger: logger) { result.append(try decode(row)) }
                return result
            }
        } catch {
            if PostgresErrorText.isOutage(error) || error is DeadlinePassed {
                throw JournalError("the journal \(location) is unreachable: \(PostgresErrorText.describe(error))",
                                   hint: "the runs are safe there; try again once the database is back")
            }
            throw JournalError("cannot read the journal \(location): \(PostgresErrorText.describe(error))")
        }
    }}
