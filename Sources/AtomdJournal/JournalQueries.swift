import AtomdEngine
import AtomdSpec
import Foundation
import GRDB

/// A run as the journal holds it.
public struct JournaledRun: Sendable, Codable, Hashable {
    public var id: String
    public var jobName: String
    public var jobFile: String
    public var jobText: String
    public var jobSHA256: String
    public var vars: [String: JSONValue]
    public var status: RunStatus
    public var detail: String?
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Set when the run ended and its `finally` steps ran; until then,
    /// recovery resumes it.
    public var closedAt: Date?
    /// The agent's claimed file in processing/, until it is filed.
    public var spoolFile: String?
    /// The token `atomd submit` returned; nil for other runs.
    public var submission: String?
    /// `atomd submit --on-failure`, used instead of the job's own.
    public var onFailure: FailurePolicy?
    /// A rehearsal run: the failure `atomd rehearse` injected.
    public var rehearsal: String? = nil
    /// The uid of whoever submitted it; 0 (root) for runs journaled before
    /// submitters were recorded.
    public var submitter: uid_t = 0

    public var isOpen: Bool { closedAt == nil }

    package init(id: String, jobName: String, jobFile: String, jobText: String, jobSHA256: String, vars: [String: JSONValue],
                 status: RunStatus, detail: String?, createdAt: Date, startedAt: Date?, finishedAt: Date?, closedAt: Date?,
                 spoolFile: String?, submission: String?, onFailure: FailurePolicy?, rehearsal: String?, submitter: uid_t) {
        self.id = id
        self.jobName = jobName
        self.jobFile = jobFile
        self.jobText = jobText
        self.jobSHA256 = jobSHA256
        self.vars = vars
        self.status = status
        self.detail = detail
        self.createdAt = createdAt
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.closedAt = closedAt
        self.spoolFile = spoolFile
        self.submission = submission
        self.onFailure = onFailure
        self.rehearsal = rehearsal
        self.submitter = submitter
    }
}

/// A step's latest state as the journal holds it.
public struct JournaledStep: Sendable, Codable, Hashable {
    public var id: String
    public var path: String
    public var status: StepStatus
    public var attempts: Int
    public var idempotencyKey: String?
    public var effect: String?
    /// Secrets redacted.
    public var input: JSONValue?
    public var outputs: JSONValue?
    public var error: String?
    public var compensation: String?
    public var processGroup: Int?
    /// `{"before": …, "after": …}`: what the step's `state:` probe (or its
    /// plugin atom) reported, secrets redacted.
    public var state: JSONValue?
    public var startedAt: Date?
    public var finishedAt: Date?

    /// snake_case, as every JSON atomd writes.
    enum CodingKeys: String, CodingKey {
        case id, path, status, attempts, effect, input, outputs, error, compensation, state
        case idempotencyKey = "idempotency_key", processGroup = "process_group", startedAt = "started_at", finishedAt = "finished_at"
    }

    package init(id: String, path: String, status: StepStatus, attempts: Int, idempotencyKey: String?, effect: String?, input: JSONValue?,
                 outputs: JSONValue?, error: String?, compensation: String?, processGroup: Int?, state: JSONValue?, startedAt: Date?,
                 finishedAt: Date?) {
        self.id = id
        self.path = path
        self.status = status
        self.attempts = attempts
        self.idempotencyKey = idempotencyKey
        self.effect = effect
        self.input = input
        self.outputs = outputs
        self.error = error
        self.compensation = compensation
        self.processGroup = processGroup
        self.state = state
        self.startedAt = startedAt
        self.finishedAt = finishedAt
    }
}

extension DurableJournal {
    /// Newest first.
    public func runs(status: RunStatus? = nil, limit: Int = 50) throws(JournalError) -> [JournaledRun] {
        try read { db in
            var sql = "SELECT * FROM runs"
            var arguments: StatementArguments = []
            if let status {
                sql += " WHERE status = ?"
                arguments += [status.rawValue]
            }
            sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
            arguments += [max(0, limit)]
            return try Row.fetchAll(db, sql: sql, arguments: arguments).map(Self.run)
        }
    }

    public func run(_ id: String) throws(JournalError) -> JournaledRun? {
        try read { db in try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE id = ?", arguments: [id]).map(Self.run) }
    }

    /// The run that `file` in the spool's processing/ became, if it got so far.
    public func run(spoolFile file: String) throws(JournalError) -> JournaledRun? {
        try read { db in try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE spool_file = ?", arguments: [file]).map(Self.run) }
    }

    /// The run a submission (`atomd submit`'s token) became, once it started.
    public func run(submission token: String) throws(JournalError) -> JournaledRun? {
        try read { db in try Row.fetchOne(db, sql: "SELECT * FROM runs WHERE submission = ?", arguments: [token]).map(Self.run) }
    }

    /// Runs to resume: not closed, oldest first.
    public func openRuns() throws(JournalError) -> [JournaledRun] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM runs WHERE closed_at IS NULL ORDER BY created_at, id").map(Self.run)
        }
    }

    /// The steps that have had a transition, in the order they first did.
    public func steps(of runID: String) throws(JournalError) -> [JournaledStep] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM steps WHERE run_id = ? ORDER BY rowid", arguments: [runID]).map { row in
                JournaledStep(
                    id: row["step_id"], path: row["path"], status: StepStatus(rawValue: row["status"]) ?? .pending,
                    attempts: row["attempts"], idempotencyKey: row["idempotency_key"], effect: row["effect"],
                    input: Self.json(row["input"]), outputs: Self.json(row["outputs"]), error: row["error"],
                    compensation: row["compensation"], processGroup: row["process_group"],
                    state: Self.json(row["state"]), startedAt: Self.date(row["started_at"]), finishedAt: Self.date(row["finished_at"]))
            }
        }
    }

    /// The run's history in order, `after` a sequence number.
    public func events(of runID: String, after sequence: Int = 0) throws(JournalError) -> [EngineEvent] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM events WHERE run_id = ? AND sequence > ? ORDER BY sequence",
                             arguments: [runID, sequence]).compactMap { row -> EngineEvent? in
                guard let kind = EventCoding.decode(kind: row["kind"], status: row["status"]) else { return nil }
                return EngineEvent(
                    sequence: row["sequence"], runID: row["run_id"], stepPath: row["step_path"], stepID: row["step_id"],
                    attempt: row["attempt"], kind: kind, time: Date(timeIntervalSince1970: row["time"]),
                    detail: row["detail"], data: Self.json(row["data"]), idempotencyKey: row["idempotency_key"],
                    effect: (row["effect"] as String?).flatMap(StepRecord.Effect.init(rawValue:)),
                    context: Self.json(row["context"]))
            }
        }
    }

    private func read<T>(_ body: (Database) throws -> T) throws(JournalError) -> T {
        do {
            return try database.read(body)
        } catch {
            throw JournalError("cannot read the journal \(path): \(error)")
        }
    }

    private static func run(_ row: Row) -> JournaledRun {
        let vars: [String: JSONValue] = if case .object(let members)? = json(row["vars"]) { members } else { [:] }
        return JournaledRun(
            id: row["id"], jobName: row["job_name"], jobFile: row["job_file"], jobText: row["job_text"],
            jobSHA256: row["job_sha256"], vars: vars, status: RunStatus(rawValue: row["status"]) ?? .queued,
            detail: row["detail"], createdAt: Date(timeIntervalSince1970: row["created_at"]),
            startedAt: date(row["started_at"]), finishedAt: date(row["finished_at"]), closedAt: date(row["closed_at"]),
            spoolFile: row["spool_file"], submission: row["submission"],
            onFailure: (row["on_failure"] as String?).flatMap(FailurePolicy.init(rawValue:)), rehearsal: row["rehearsal"],
            submitter: (row["submitter"] as Int64?).flatMap { uid_t(exactly: $0) } ?? 0)
    }

    private static func date(_ seconds: Double?) -> Date? {
        seconds.map(Date.init(timeIntervalSince1970:))
    }

    private static func json(_ text: String?) -> JSONValue? {
        guard let text else { return nil }
        return try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }
}
