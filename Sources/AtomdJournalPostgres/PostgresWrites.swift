import AtomdJournal
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
            try await connection.run("UPDATE runs SET spool_file = NULL WHERE spool_file = \(spoolFile)", logger: logger)
        }
        // A retry after a commit whose answer was lost finds the row there.
        try await connection.run("""
            INSERT INTO runs (id, job_name, job_file, job_text, job_sha256, vars, status, created_at, spool_file, submission,
                              on_failure, rehearsal, submitter)
            VALUES (\(run.id), \(run.jobName), \(storable(run.jobFile)), \(storable(run.jobText)), \(SHA256.hex(Array(run.jobText.utf8))),
                    \(JSONValue.object(run.vars).json), 'queued', \(run.createdAt.timeIntervalSince1970), \(run.spoolFile),
                    \(run.submission), \(run.onFailure?.rawValue), \(run.rehearsal), \(Int64(run.submitter)))
            ON CONFLICT (id) DO NOTHING
            """, logger: logger)
    }

    /// The events of one `record` as `atomd.record_events` takes them:
    /// each event's columns, and what it changes in its run's or step's row,
    /// decided here so that the function only applies it.
    static func batch(_ events: [EngineEvent]) -> String {
        JSONValue.array(events.map(row)).json
    }

    private static func row(_ event: EngineEvent) -> JSONValue {
        let (kind, status) = EventCoding.kind(event.kind)
        var row: [String: JSONValue] = [
            "run_id": .string(event.runID), "sequence": .integer(Int64(event.sequence)), "time": .number(event.time.timeIntervalSince1970),
            "kind": .string(kind), "status": text(status), "step_id": text(event.stepID), "step_path": text(event.stepPath),
            "attempt": event.attempt.map { .integer(Int64($0)) } ?? .null, "detail": text(event.detail), "data": text(event.data?.json),
            "idempotency_key": text(event.idempotencyKey), "effect": text(event.effect?.rawValue), "context": text(event.context?.json),
        ]
        switch event.kind {
        case .run(let next):
            row["final"] = .bool(next.isFinal)
        case .note:
            row["reopened"] = .bool(event.data?["reopened"] == .bool(true))
            if case .object(let values)? = event.data?["set_vars"] { row["set_vars"] = .object(values) }
            if case .integer(let group)? = event.data?["process_group"] { row["process_group"] = .integer(group) }
        case .step(let next):
            let keyed = next == .running && event.idempotencyKey != nil
            row["keyed"] = .bool(keyed)
            row["key_attempt"] = event.idempotencyKey?.split(separator: "/").last.flatMap { Int64($0) }.map(JSONValue.integer) ?? .null
            switch next {
            case .succeeded: row["set_outputs"] = .bool(true); row["outputs"] = text(event.data?["outputs"].json)
            case .skipped: row["set_outputs"] = .bool(true); row["outputs"] = text(event.data?.json)
            case .pending: row["set_outputs"] = .bool(true); row["outputs"] = .null
            default: row["set_outputs"] = .bool(false)
            }
            switch next {
            case .failed, .ignored, .revertFailed: row["set_error"] = .bool(true); row["error"] = text(event.detail)
            case .pending: row["set_error"] = .bool(true); row["error"] = .null
            default: row["set_error"] = .bool(keyed); row["error"] = .null
            }
            switch next {
            case .reverting: row["set_compensation"] = .bool(true); row["compensation"] = .string("reverting")
            case .reverted: row["set_compensation"] = .bool(true); row["compensation"] = .string("reverted")
            case .revertFailed: row["set_compensation"] = .bool(true); row["compensation"] = .string("revert failed: left behind")
            case .pending: row["set_compensation"] = .bool(true); row["compensation"] = .null
            default: row["set_compensation"] = .bool(false)
            }
            let state = next == .succeeded || next == .failed || next == .ignored ? stateChange(event) : nil
            row["set_state"] = .bool(state != nil || next == .pending)
            row["state"] = text(state)
        case .closed, .log, .progress:
            break
        }
        return .object(row)
    }

    /// PostgreSQL's text cannot hold NUL (and jsonb refuses it): a NUL in
    /// a step's error text, a note or a detail is stored as U+FFFD, lest
    /// the failure it reports could not be stored at all.
    private static func text(_ value: String?) -> JSONValue {
        value.map { JSONValue.string(storable($0)) } ?? .null
    }

    static func storable(_ text: String) -> String {
        text.contains("\u{0}") ? text.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") : text
    }

    /// The state before and after, as the step's outcome carried it; nil
    /// when it carried none.
    private static func stateChange(_ event: EngineEvent) -> String? {
        guard let data = event.data, data["old_state"] != .null || data["new_state"] != .null else { return nil }
        return JSONValue.object(["before": data["old_state"], "after": data["new_state"]]).json
    }
}
