import AtomdEngine
import AtomdSpec
import Foundation
import Logging
import PostgresNIO

/// How each transition changes the tables on PostgreSQL, inside one
/// transaction: the same changes as `JournalWrites` makes on SQLite, in
/// PostgreSQL's dialect.
enum PostgresWrites {
    static func insert(_ run: NewRun, on connection: PostgresConnection, logger: Logger) async throws {
        if let spoolFile = run.spoolFile {
            try await connection.query("UPDATE runs SET spool_file = NULL WHERE spool_file = \(spoolFile)", logger: logger)
        }
        // A retry after a commit whose answer was lost finds the row there.
        try await connection.query("""
            INSERT INTO runs (id, job_name, job_file, job_text, job_sha256, vars, status, created_at, spool_file, submission,
                              on_failure, rehearsal, submitter)
            VALUES (\(run.id), \(run.jobName), \(run.jobFile), \(run.jobText), \(SHA256.hex(Array(run.jobText.utf8))),
                    \(JSONValue.object(run.vars).json), 'queued', \(run.createdAt.timeIntervalSince1970), \(run.spoolFile),
                    \(run.submission), \(run.onFailure?.rawValue), \(run.rehearsal), \(Int64(run.submitter)))
            ON CONFLICT (id) DO NOTHING
            """, logger: logger)
    }

    static func apply(_ event: EngineEvent, on connection: PostgresConnection, logger: Logger) async throws {
        let time = event.time.timeIntervalSince1970
        let (kind, status) = EventCoding.kind(event.kind)
        try await connection.query("""
            INSERT INTO events (run_id, sequence, time, kind, status, step_id, step_path, attempt, detail, data,
                                idempotency_key, effect, context)
            VALUES (\(event.runID), \(event.sequence), \(time), \(kind), \(status), \(event.stepID), \(event.stepPath),
                    \(event.attempt), \(event.detail), \(event.data?.json), \(event.idempotencyKey), \(event.effect?.rawValue),
                    \(event.context?.json))
            """, logger: logger)
        switch event.kind {
        case .run(let next):
            try await connection.query("""
                UPDATE runs SET status = \(next.rawValue), detail = \(event.detail),
                    started_at = CASE WHEN \(next == .running) THEN COALESCE(started_at, \(time)) ELSE started_at END,
                    finished_at = CASE WHEN \(next.isFinal) THEN \(time) ELSE NULL END
                WHERE id = \(event.runID)
                """, logger: logger)
        case .closed:
            try await connection.query("UPDATE runs SET closed_at = \(time) WHERE id = \(event.runID)", logger: logger)
        case .step(let next):
            try await applyStep(next, event, time: time, on: connection, logger: logger)
        case .note:
            if event.data?["reopened"] == .bool(true) {
                try await connection.query("UPDATE runs SET closed_at = NULL WHERE id = \(event.runID)", logger: logger)
            }
            if case .object(let values)? = event.data?["set_vars"] {
                let rows = try await connection.query("SELECT vars FROM runs WHERE id = \(event.runID) FOR UPDATE", logger: logger)
                var vars: [String: JSONValue] = [:]
                for try await text in rows.decode(String.self) {
                    if case .object(let old)? = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) { vars = old }
                }
                vars.merge(values) { _, new in new }
                try await connection.query("UPDATE runs SET vars = \(JSONValue.object(vars).json) WHERE id = \(event.runID)", logger: logger)
            }
            guard let id = event.stepID, case .integer(let group) = event.data?["process_group"] ?? .null else { return }
            try await connection.query("""
                UPDATE steps SET process_group = \(group) WHERE run_id = \(event.runID) AND step_id = \(id)
                """, logger: logger)
        case .log, .progress:
            return
        }
    }

    /// One statement per transition: the row is made if new and updated in
    /// the same upsert, since each round trip to the server costs as much
    /// as the commit.
    private static func applyStep(_ next: StepStatus, _ event: EngineEvent, time: Double, on connection: PostgresConnection,
                                  logger: Logger) async throws {
        guard let id = event.stepID else { return }
        let keyAttempt = event.idempotencyKey?.split(separator: "/").last.flatMap { Int($0) }
        let outputs: String? = switch next {
        case .succeeded: event.data?["outputs"].json
        case .skipped: event.data?.json
        default: nil
        }
        let state: String? = switch next {
        case .succeeded, .failed, .ignored: stateChange(event)
        default: nil
        }
        let compensation: String? = switch next {
        case .reverting: "reverting"
        case .reverted: "reverted"
        case .revertFailed: "revert failed: left behind"
        default: nil
        }
        // Each SET names what this status changes; the others keep their value.
        try await connection.query("""
            INSERT INTO steps (run_id, step_id, path) VALUES (\(event.runID), \(id), \(event.stepPath ?? id))
            ON CONFLICT (run_id, step_id) DO NOTHING
            """, logger: logger)
        try await connection.query("""
            UPDATE steps SET
                status = \(next.rawValue),
                effect = COALESCE(\(event.effect?.rawValue), effect),
                attempts = GREATEST(attempts, COALESCE(\(event.attempt), 0)),
                started_at = CASE WHEN \(next == .running) AND (\(event.attempt ?? 1) = 1 OR started_at IS NULL) THEN \(time)
                                  ELSE started_at END,
                finished_at = CASE WHEN \(next == .running || next == .pending) THEN NULL
                                   WHEN \(next == .succeeded || next == .skipped || next == .failed || next == .ignored) THEN \(time)
                                   ELSE finished_at END,
                idempotency_key = CASE WHEN \(next == .running && event.idempotencyKey != nil) THEN \(event.idempotencyKey)
                                       ELSE idempotency_key END,
                key_attempt = CASE WHEN \(next == .running && event.idempotencyKey != nil) THEN \(keyAttempt) ELSE key_attempt END,
                input = CASE WHEN \(next == .running && event.idempotencyKey != nil) THEN \(event.data?.json) ELSE input END,
                outputs = CASE WHEN \(next == .succeeded || next == .skipped) THEN \(outputs)
                               WHEN \(next == .pending) THEN NULL ELSE outputs END,
                error = CASE WHEN \(next == .failed || next == .ignored || next == .revertFailed) THEN \(event.detail)
                             WHEN \(next == .pending || (next == .running && event.idempotencyKey != nil)) THEN NULL ELSE error END,
                compensation = CASE WHEN \(compensation != nil) THEN \(compensation)
                                    WHEN \(next == .pending) THEN NULL ELSE compensation END,
                state = CASE WHEN \(state != nil) THEN \(state) WHEN \(next == .pending) THEN NULL ELSE state END
            WHERE run_id = \(event.runID) AND step_id = \(id)
            """, logger: logger)
    }

    /// The state before and after, as the step's outcome carried it; nil
    /// when it carried none.
    private static func stateChange(_ event: EngineEvent) -> String? {
        guard let data = event.data, data["old_state"] != .null || data["new_state"] != .null else { return nil }
        return JSONValue.object(["before": data["old_state"], "after": data["new_state"]]).json
    }
}
