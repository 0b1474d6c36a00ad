import Foundation
import GRDB

extension DurableJournal {
    /// `agent.retention.runs`: deletes the runs closed before `cutoff`, with
    /// their steps and events, in one transaction. A run still tied to a
    /// spool file, or not closed, stays whatever its age. Returns the ids
    /// deleted.
    public func prune(closedBefore cutoff: Date) async throws -> [String] {
        let ids = try runs(closedBefore: cutoff)
        guard !ids.isEmpty else { return [] }
        try await write { db in
            for id in ids {
                for table in ["events", "steps", "runs"] {
                    try db.execute(sql: "DELETE FROM \(table) WHERE \(table == "runs" ? "id" : "run_id") = ?", arguments: [id])
                }
            }
        }
        return ids
    }

    /// The runs `prune` would delete.
    public func runs(closedBefore cutoff: Date) throws(JournalError) -> [String] {
        do {
            return try database.read { db in
                try String.fetchAll(db, sql: "SELECT id FROM runs WHERE closed_at IS NOT NULL AND closed_at < ? AND spool_file IS NULL",
                                    arguments: [cutoff.timeIntervalSince1970])
            }
        } catch {
            throw JournalError("cannot read the journal \(path): \(error)")
        }
    }
}
