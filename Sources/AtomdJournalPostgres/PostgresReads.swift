import AtomdJournal
import AtomdEngine
import AtomdSpec
import Foundation
import PostgresNIO

/// Rows of the PostgreSQL journal as the read side returns them: the same
/// values `JournalQueries` reads from SQLite.
enum PostgresReads {
    static let runColumns = """
        id, job_name, job_file, job_text, job_sha256, vars, status, detail, created_at, started_at, finished_at, closed_at,
        spool_file, submission, on_failure, rehearsal, submitter
        """
    static let stepColumns = """
        step_id, path, status, attempts, idempotency_key, effect, input, outputs, error, compensation, process_group, state,
        started_at, finished_at
        """
    static let eventColumns = """
        sequence, run_id, step_path, step_id, attempt, kind, status, time, detail, data, idempotency_key, effect, context
        """

    static func run(_ row: PostgresRow) throws -> JournaledRun {
        let cells = row.makeRandomAccess()
        let vars: [String: JSONValue] = if case .object(let members)? = json(try cells["vars"].decode(String.self)) { members } else { [:] }
        return JournaledRun(
            id: try cells["id"].decode(String.self), jobName: try cells["job_name"].decode(String.self),
            jobFile: try cells["job_file"].decode(String.self), jobText: try cells["job_text"].decode(String.self),
            jobSHA256: try cells["job_sha256"].decode(String.self), vars: vars,
            status: RunStatus(rawValue: try cells["status"].decode(String.self)) ?? .queued,
            detail: try cells["detail"].decode(String?.self),
            createdAt: Date(timeIntervalSince1970: try cells["created_at"].decode(Double.self)),
            startedAt: try date(cells["started_at"]), finishedAt: try date(cells["finished_at"]), closedAt: try date(cells["closed_at"]),
            spoolFile: try cells["spool_file"].decode(String?.self), submission: try cells["submission"].decode(String?.self),
            onFailure: try cells["on_failure"].decode(String?.self).flatMap(FailurePolicy.init(rawValue:)),
            rehearsal: try cells["rehearsal"].decode(String?.self),
            submitter: try cells["submitter"].decode(Int64?.self).flatMap { uid_t(exactly: $0) } ?? 0)
    }

    static func step(_ row: PostgresRow) throws -> JournaledStep {
        let cells = row.makeRandomAccess()
        return JournaledStep(
            id: try cells["step_id"].decode(String.self), path: try cells["path"].decode(String.self),
            status: StepStatus(rawValue: try cells["status"].decode(String.self)) ?? .pending,
            attempts: try cells["attempts"].decode(Int.self), idempotencyKey: try cells["idempotency_key"].decode(String?.self),
            effect: try cells["effect"].decode(String?.self), input: json(try cells["input"].decode(String?.self)),
            outputs: json(try cells["outputs"].decode(String?.self)), error: try cells["error"].decode(String?.self),
            compensation: try cells["compensation"].decode(String?.self), processGroup: try cells["process_group"].decode(Int?.self),
            state: json(try cells["state"].decode(String?.self)), startedAt: try date(cells["started_at"]),
            finishedAt: try date(cells["finished_at"]))
    }

    /// Nil for a kind this version does not know (it is skipped, as on SQLite).
    static func event(_ row: PostgresRow) throws -> EngineEvent? {
        let cells = row.makeRandomAccess()
        guard let kind = EventCoding.decode(kind: try cells["kind"].decode(String.self), status: try cells["status"].decode(String?.self)) else {
            return nil
        }
        return EngineEvent(
            sequence: try cells["sequence"].decode(Int.self), runID: try cells["run_id"].decode(String.self),
            stepPath: try cells["step_path"].decode(String?.self), stepID: try cells["step_id"].decode(String?.self),
            attempt: try cells["attempt"].decode(Int?.self), kind: kind,
            time: Date(timeIntervalSince1970: try cells["time"].decode(Double.self)),
            detail: try cells["detail"].decode(String?.self), data: json(try cells["data"].decode(String?.self)),
            idempotencyKey: try cells["idempotency_key"].decode(String?.self),
            effect: try cells["effect"].decode(String?.self).flatMap(StepRecord.Effect.init(rawValue:)),
            context: json(try cells["context"].decode(String?.self)))
    }

    private static func date(_ cell: PostgresCell) throws -> Date? {
        try cell.decode(Double?.self).map(Date.init(timeIntervalSince1970:))
    }

    private static func json(_ text: String?) -> JSONValue? {
        guard let text else { return nil }
        return try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }
}
