import AtomdEngine
import AtomdJournal
import AtomdPlugins
import AtomdSpec
import Foundation

/// A run as `GET /runs` and `atomd runs --json` list it (the job text
/// stays out).
public struct RunListing: Codable, Sendable {
    public var id: String
    public var job: String
    public var job_file: String
    public var status: RunStatus
    public var open: Bool
    public var created_at: Date
    public var started_at: Date?
    public var finished_at: Date?
    public var duration_seconds: Double?
    /// A rehearsal run (`atomd rehearse`): the failure it injected.
    public var rehearsal: String?
    /// Who submitted it: the user who may steer it besides the admins.
    public var submitter: String
    /// Why it is in its state, when the journal says (a parked run's reason).
    public var detail: String?

    public init(_ run: JournaledRun) {
        rehearsal = run.rehearsal
        detail = run.detail
        submitter = UserDatabase.name(of: run.submitter)
        id = run.id
        job = run.jobName
        job_file = run.jobFile
        status = run.status
        open = run.isOpen
        created_at = run.createdAt
        started_at = run.startedAt
        finished_at = run.finishedAt
        duration_seconds = run.startedAt.map { ((run.finishedAt ?? Date()).timeIntervalSince($0) * 1000).rounded() / 1000 }
    }
}

/// `GET /runs`.
public struct RunList: Codable, Sendable {
    public var runs: [RunListing]
    /// Runs this agent holds now.
    public var live: [Agent.LiveSummary]
    /// Claimed files waiting for a slot, in order.
    public var queued: [String]
    /// With `submission=`: the job's report when it was refused without a run.
    public var refused: SpoolReport? = nil

    /// How many runs one listing may hold, from `limit=`.
    public static let limits = 1...1000
}

/// One run with its steps, as `GET /runs/ID` and `atomd show --json` give it.
public struct RunDetail: Codable, Sendable {
    public var run: RunListing
    public var job_sha256: String
    public var vars: [String: JSONValue]
    public var detail: String?
    public var steps: [JournaledStep]
    /// Steps paused for an operator decision; nil when no agent holds the run.
    public var waiting: [String]?
    /// Steps waiting for a lock another run holds; nil when no agent holds the run.
    public var locks: [String]?
    /// The rollback armed with `--reserve`, if any.
    public var reserved_rollback: RollbackRequest?

    public init(_ run: JournaledRun, steps: [JournaledStep], waiting: [String]?, locks: [String]? = nil,
                reservedRollback: RollbackRequest? = nil) {
        self.locks = locks
        reserved_rollback = reservedRollback
        self.run = RunListing(run)
        job_sha256 = run.jobSHA256
        vars = run.vars
        detail = run.detail
        self.steps = steps
        self.waiting = waiting
    }
}

struct SubmitFailure: Codable, Sendable {
    struct Problem: Codable, Sendable {
        var line: Int
        var column: Int
        var message: String
        var hint: String?
    }

    var error: String
    var hint: String?
    var problems: [Problem]

    init(_ failure: SubmitError) {
        error = failure.message
        hint = failure.hint
        problems = failure.diagnostics.map {
            Problem(line: $0.location.line, column: $0.location.column, message: $0.message, hint: $0.hint)
        }
    }
}

/// One plugin as `atomd plugins --json` and `GET /plugins` give it.
public struct PluginReport: Encodable, Sendable {
    public struct Atom: Encodable, Sendable {
        public var name: String
        public var summary: String
        public var revert: Bool
        public var check: Bool
        public var inputSchema: JSONValue?
    }

    public struct Failure: Encodable, Sendable {
        public var message: String
        public var hint: String?
    }

    public var name: String
    public var path: String
    public var isolation: String
    public var sha256: String?
    public var version: String?
    public var abi: String?
    public var summary: String?
    public var atoms: [Atom]?
    public var error: Failure?

    public init(_ listing: PluginListing) {
        name = listing.name
        path = listing.path
        isolation = listing.isolation.rawValue
        sha256 = listing.sha256
        version = listing.descriptor?.version
        abi = listing.descriptor.map { "\($0.abiMajor).\($0.abiMinor)" }
        summary = listing.descriptor?.summary
        atoms = listing.descriptor?.atoms.map {
            Atom(name: $0.name, summary: $0.summary, revert: $0.canRevert, check: $0.canCheck, inputSchema: $0.inputSchema)
        }
        error = listing.error.map { Failure(message: $0.message, hint: $0.hint) }
    }
}

/// Step log lines, complete lines only, oldest attempt first.
public struct StepLogs: Codable, Sendable {
    public var step: String
    public var attempt: Int
    /// nil for the execute; `revert` (`attempt` is then the revert's),
    /// `check` or `state` for the probes' latest call.
    public var phase: String?
    public var line: String

    /// A step's log file: `DIRECTORY/STEP-PATH.ATTEMPT[.PHASE].log`.
    public struct File: Sendable {
        public var path: String
        public var attempt: Int
        public var phase: String?
        public var file: String
    }

    static let phases = ["state", "check", "revert"]

    /// The log files of a run's directory (only `step`'s, given its id or
    /// path), oldest attempt first.
    public static func files(directory: String, step: String?) -> [File] {
        guard let names = FileManager.default.subpaths(atPath: directory) else { return [] }
        var found: [File] = []
        for name in names where name.hasSuffix(".log") {
            var base = name.dropLast(4)
            var phase: String?
            if let dot = base.lastIndex(of: "."), phases.contains(String(base[base.index(after: dot)...])) {
                phase = String(base[base.index(after: dot)...])
                base = base[..<dot]
            }
            guard let dot = base.lastIndex(of: "."), let attempt = Int(base[base.index(after: dot)...]) else { continue }
            let path = String(base[..<dot])
            if let step, path != step, !path.hasSuffix("/" + step) { continue }
            found.append(File(path: path, attempt: attempt, phase: phase, file: directory + "/" + name))
        }
        // Executes first by attempt, then each step's probes and reverts.
        let rank = { (file: File) in file.phase.flatMap { phases.firstIndex(of: $0) }.map { $0 + 1 } ?? 0 }
        return found.sorted { (rank($0) > 0 ? 1 : 0, $0.attempt, $0.path, rank($0)) < (rank($1) > 0 ? 1 : 0, $1.attempt, $1.path, rank($1)) }
    }

    /// What one answer holds of each log file: its last 4 MiB. A step's log
    /// may reach 64 MiB per attempt, and an answer is built whole in memory.
    public static let tailBytes = 4 << 20

    public static func lines(directory: String, step: String?) -> [StepLogs] {
        files(directory: directory, step: step).flatMap { entry -> [StepLogs] in
            guard let handle = FileHandle(forReadingAtPath: entry.file) else { return [] }
            defer { try? handle.close() }
            let size = (try? handle.seekToEnd()) ?? 0
            let start = size > UInt64(tailBytes) ? size - UInt64(tailBytes) : 0
            guard (try? handle.seek(toOffset: start)) != nil, var data = try? handle.readToEnd() else { return [] }
            var lines: [StepLogs] = []
            if start > 0 {
                // Begin at a line's start, and say what was left out.
                if let first = data.firstIndex(of: UInt8(ascii: "\n")) { data = data[(first + 1)...] }
                lines.append(StepLogs(step: entry.path, attempt: entry.attempt, phase: entry.phase,
                                      line: "[atomd] the first \(start >> 20) MiB of this log are left out here; read \(entry.file)"))
            }
            guard let end = data.lastIndex(of: UInt8(ascii: "\n")) else { return lines }
            return lines + String(decoding: data[...end], as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
                .dropLast().map { StepLogs(step: entry.path, attempt: entry.attempt, phase: entry.phase, line: String($0)) }
        }
    }
}

/// An engine event as the event stream and `atomd run --json` print it:
/// flat, with the kind and the status as plain strings.
public struct APIEvent: Encodable, Sendable {
    public var sequence: Int
    public var run_id: String
    /// run, step, log, progress, note or closed.
    public var kind: String
    /// The run's or step's new status; the note or log line's text is in `detail`.
    public var status: String?
    public var step: String?
    public var path: String?
    public var attempt: Int?
    public var time: Date
    public var detail: String?
    public var progress: Double?
    public var data: JSONValue?
    public var idempotency_key: String?
    public var effect: String?

    public init(_ event: EngineEvent) {
        sequence = event.sequence
        run_id = event.runID
        kind = event.kind.name
        step = event.stepID
        path = event.stepPath
        attempt = event.attempt
        time = event.time
        detail = event.detail
        data = event.data
        idempotency_key = event.idempotencyKey
        effect = event.effect?.rawValue
        switch event.kind {
        case .run(let next): status = next.rawValue
        case .step(let next): status = next.rawValue
        case .log(let line): detail = line
        case .progress(let fraction, let note):
            progress = fraction
            detail = note
        case .note(let text): detail = text
        case .closed: break
        }
    }
}
