import AtomdEngine
import AtomdSpec
import Foundation
import GRDB

/// How each transition changes the tables, inside one transaction: the event
/// is appended to the history, and the run's and step's rows updated.
enum JournalWrites {
    static func insert(_ run: NewRun, in db: Database) throws {
        if let spoolFile = run.spoolFile {
            // A run whose file was filed before its release was journaled.
            try db.execute(sql: "UPDATE runs SET spool_file = NULL WHERE spool_file = ?", arguments: [spoolFile])
        }
        try db.cachedStatement(sql: """
            INSERT INTO runs (id, job_name, job_file, job_text, job_sha256, vars, status, created_at, spool_file, submission, on_failure,
                              rehearsal, submitter)
            VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [run.id, run.jobName, run.jobFile, run.jobText, SHA256.hex(Array(run.jobText.utf8)),
                             JSONValue.object(run.vars).json, run.createdAt.timeIntervalSince1970, run.spoolFile,
                             run.submission, run.onFailure?.rawValue, run.rehearsal, Int64(run.submitter)])
    }

    static func apply(_ event: EngineEvent, in db: Database) throws {
        let time = event.time.timeIntervalSince1970
        let (kind, status) = EventCoding.kind(event.kind)
        try db.cachedStatement(sql: """
            INSERT INTO events (run_id, sequence, time, kind, status, step_id, step_path, attempt, detail, data,
                                idempotency_key, effect, context)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [event.runID, event.sequence, time, kind, status, event.stepID, event.stepPath, event.attempt,
                             event.detail, event.data?.json, event.idempotencyKey, event.effect?.rawValue, event.context?.json])
        switch event.kind {
        case .run(let next):
            try db.cachedStatement(sql: """
                UPDATE runs SET status = ?, detail = ?,
                    started_at = CASE WHEN ? = 'running' THEN COALESCE(started_at, ?) ELSE started_at END,
                    finished_at = CASE WHEN ? THEN ? ELSE NULL END
                WHERE id = ?
                """).execute(arguments: [next.rawValue, event.detail, next.rawValue, time, next.isFinal, time, event.runID])
        case .closed:
            try db.cachedStatement(sql: "UPDATE runs SET closed_at = ? WHERE id = ?").execute(arguments: [time, event.runID])
        case .step(let next):
            try applyStep(next, event, time: time, in: db)
        case .note:
            // The operator reopened a run that ended revert_failed (`--retry`).
            if event.data?["reopened"] == .bool(true) {
                try db.cachedStatement(sql: "UPDATE runs SET closed_at = NULL WHERE id = ?").execute(arguments: [event.runID])
            }
            // Variables the operator set: the run's vars, as show and a resume read them.
            if case .object(let values)? = event.data?["set_vars"] {
                let text = try String.fetchOne(db, sql: "SELECT vars FROM runs WHERE id = ?", arguments: [event.runID])
                var vars: [String: JSONValue] = [:]
                if let text, case .object(let old)? = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) { vars = old }
                vars.merge(values) { _, new in new }
                try db.execute(sql: "UPDATE runs SET vars = ? WHERE id = ?", arguments: [JSONValue.object(vars).json, event.runID])
            }
            guard let id = event.stepID, case .integer(let group) = event.data?["process_group"] ?? .null else { return }
            try db.cachedStatement(sql: "UPDATE steps SET process_group = ? WHERE run_id = ? AND step_id = ?").execute(arguments: [group, event.runID, id])
        case .log, .progress:
            return
        }
    }

    private static func applyStep(_ next: StepStatus, _ event: EngineEvent, time: Double, in db: Database) throws {
        guard let id = event.stepID else { return }
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO steps (run_id, step_id, path) VALUES (?, ?, ?)").execute(arguments: [event.runID, id, event.stepPath ?? id])
        try db.cachedStatement(sql: """
            UPDATE steps SET status = ?, effect = COALESCE(?, effect), attempts = MAX(attempts, COALESCE(?, 0))
            WHERE run_id = ? AND step_id = ?
            """).execute(arguments: [next.rawValue, event.effect?.rawValue, event.attempt, event.runID, id])
        let key: [any DatabaseValueConvertible & Sendable] = [event.runID, id]
        switch next {
        case .running:
            try db.cachedStatement(sql: """
                UPDATE steps SET started_at = CASE WHEN ? = 1 OR started_at IS NULL THEN ? ELSE started_at END,
                    finished_at = NULL WHERE run_id = ? AND step_id = ?
                """).execute(arguments: StatementArguments([event.attempt ?? 1, time] + key))
            if let idempotencyKey = event.idempotencyKey {
                let keyAttempt = idempotencyKey.split(separator: "/").last.flatMap { Int($0) }
                try db.cachedStatement(sql: """
                    UPDATE steps SET idempotency_key = ?, key_attempt = ?, input = ?, error = NULL
                    WHERE run_id = ? AND step_id = ?
                    """).execute(arguments: StatementArguments([idempotencyKey, keyAttempt, event.data?.json] + key))
            }
        case .succeeded, .skipped:
            let outputs = next == .succeeded ? event.data?["outputs"] : event.data
            try db.cachedStatement(sql: "UPDATE steps SET finished_at = ?, outputs = ? WHERE run_id = ? AND step_id = ?").execute(arguments: StatementArguments([time, outputs?.json] + key))
            if next == .succeeded { try recordState(event, key, in: db) }
        case .failed, .ignored:
            try db.cachedStatement(sql: "UPDATE steps SET finished_at = ?, error = ? WHERE run_id = ? AND step_id = ?").execute(arguments: StatementArguments([time, event.detail] + key))
            try recordState(event, key, in: db)
        case .reverting:
            try db.cachedStatement(sql: "UPDATE steps SET compensation = 'reverting' WHERE run_id = ? AND step_id = ?").execute(arguments: StatementArguments(key))
        case .reverted:
            try db.cachedStatement(sql: "UPDATE steps SET compensation = 'reverted' WHERE run_id = ? AND step_id = ?").execute(arguments: StatementArguments(key))
        case .revertFailed:
            try db.cachedStatement(sql: """
                UPDATE steps SET compensation = 'revert failed: left behind', error = ? WHERE run_id = ? AND step_id = ?
                """).execute(arguments: StatementArguments([event.detail] + key))
        case .pending:
            try db.cachedStatement(sql: """
                UPDATE steps SET outputs = NULL, error = NULL, compensation = NULL, finished_at = NULL, state = NULL
                WHERE run_id = ? AND step_id = ?
                """).execute(arguments: StatementArguments(key))
        }
    }

    /// The state before and after travels with the step's outcome.
    private static func recordState(_ event: EngineEvent, _ key: [any DatabaseValueConvertible & Sendable], in db: Database) throws {
        guard let data = event.data, data["old_state"] != .null || data["new_state"] != .null else { return }
        let change = JSONValue.object(["before": data["old_state"], "after": data["new_state"]])
        try db.cachedStatement(sql: "UPDATE steps SET state = ? WHERE run_id = ? AND step_id = ?").execute(arguments: StatementArguments([change.json] + key))
    }
}

/// Event kinds as the `events` table spells them.
package enum EventCoding {
    /// What a journal stores of `events`: log lines and progress go to
    /// listeners only.
    package static func transitions(_ events: [EngineEvent]) -> [EngineEvent] {
        events.filter {
            switch $0.kind {
            case .log, .progress: false
            case .run, .step, .note, .closed: true
            }
        }
    }

    package static func kind(_ kind: EngineEvent.Kind) -> (String, String?) {
        switch kind {
        case .run(let status): ("run", status.rawValue)
        case .step(let status): ("step", status.rawValue)
        case .note(let text): ("note", text)
        case .closed: ("closed", nil)
        case .log(let text): ("log", text)
        case .progress(let fraction, _): ("progress", String(fraction))
        }
    }

    package static func decode(kind: String, status: String?) -> EngineEvent.Kind? {
        switch kind {
        case "run": status.flatMap(RunStatus.init(rawValue:)).map(EngineEvent.Kind.run)
        case "step": status.flatMap(StepStatus.init(rawValue:)).map(EngineEvent.Kind.step)
        case "note": .note(status ?? "")
        case "closed": .closed
        default: nil
        }
    }
}
