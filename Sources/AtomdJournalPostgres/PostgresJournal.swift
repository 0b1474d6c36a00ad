import AtomdJournal
import AtomdEngine
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The engine's journal on PostgreSQL (`journal.postgres`): the same
/// records and promises as on SQLite. A record is stored when the server
/// has committed it with `synchronous_commit` on (checked at open); one
/// transaction per `record`, so one commit per step on the linear path.
///
/// When the database cannot be reached, a write is tried again with
/// backoff for up to `journal.postgres.outage`; the engine waits for it, so
/// no action starts without its record. After that the write fails and the
/// run stops as on a crash, to be resumed once the database is back.
/// Reads do not wait: after `readTimeout` they say the journal is unreachable.
public final class PostgresJournal: JournalStore {
    public let settings: PostgresSettings
    let client: PostgresClient
    let logger: Logger
    private let crashHook: CrashHook
    private let runner: Task<Void, Never>
    private let transactions = Atomic(0)
    /// Whether an outage is under way, so that it is logged once, with its end.
    private let outageSince = Mutex<ContinuousClock.Instant?>(nil)
    private let fence = JournalFence()
    private let ownership = Mutex<PostgresOwnership?>(nil)

    private init(settings: PostgresSettings, client: PostgresClient, logger: Logger, crashHook: CrashHook) {
        self.settings = settings
        self.client = client
        self.logger = logger
        self.crashHook = crashHook
        // The pool serves leases only while it runs; `close` ends it.
        runner = Task { await client.run() }
    }

    /// Connects, checks that commits are durable, and brings the schema up
    /// to date (under an advisory lock: agents starting together migrate
    /// once). Fails at once, saying why, when the database cannot be used.
    public static func open(_ settings: PostgresSettings, logger: Logger = Logger(label: "atomd.journal"),
                            crashHook: CrashHook = CrashHook(at: nil)) async throws(JournalError) -> PostgresJournal {
        let client = PostgresClient(configuration: try settings.clientConfiguration(), backgroundLogger: quiet(logger))
        let journal = PostgresJournal(settings: settings, client: client, logger: logger, crashHook: crashHook)
        do {
            let configuration = try settings.connectionConfiguration()
            try await Deadline.within(settings.readTimeout + .seconds(20)) {
                let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
                do {
                    try await PostgresSchema.checkDurability(connection, allowAsync: settings.config.allowAsync, logger: logger)
                    try await PostgresSchema.migrate(connection, logger: logger)
                } catch {
                    try? await connection.close()
                    throw error
                }
                try? await connection.close()
            }
        } catch {
            await journal.close()
            if let error = error as? JournalError {
                throw JournalError("cannot use the journal \(settings.location): \(error.message)", hint: error.hint)
            }
            let unreachable = PostgresErrorText.isOutage(error) || error is DeadlinePassed
            throw JournalError("\(unreachable ? "the journal \(settings.location) is unreachable" : "cannot use the journal \(settings.location)"): \(PostgresErrorText.describe(error))",
                               hint: "check that the server runs and that the URL, password_file, tls and ca are right (atomd config check tries them)")
        }
        return journal
    }

    /// Takes the journal for an agent alone, or for commands side by side
    /// (`PostgresOwnership`), for as long as it is open.
    public func claim(as kind: HomeOwnership.Kind) async throws(JournalError) {
        let taken = try await PostgresOwnership.claim(client: client, exclusive: kind == .agent, location: location, fence: fence,
                                                      logger: logger)
        ownership.withLock { $0 = taken }
    }

    /// What `atomd config check` says of the database: it connects as the
    /// agent would and checks durability, changing nothing (the schema is
    /// made at the agent's first start). Throws why it cannot be used.
    public static func probe(_ settings: PostgresSettings, logger: Logger = Logger(label: "atomd.journal")) async throws(JournalError) -> String {
        let configuration = try settings.connectionConfiguration()
        do {
            return try await Deadline.within(settings.readTimeout) {
                let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: quiet(logger))
                do {
                    let answer = try await describe(connection, allowAsync: settings.config.allowAsync, logger: logger)
                    try? await connection.close()
                    return answer
                } catch {
                    try? await connection.close()
                    throw error
                }
            }
        } catch let error as JournalError {
            throw JournalError("cannot use the journal \(settings.location): \(error.message)", hint: error.hint)
        } catch {
            throw JournalError("cannot reach the journal \(settings.location): \(PostgresErrorText.describe(error))",
                               hint: "check that the server runs and that the URL, password_file, tls and ca are right")
        }
    }

    /// The server's version, that commits are durable, and the schema's state.
    private static func describe(_ connection: PostgresConnection, allowAsync: Bool, logger: Logger) async throws -> String {
        let off = try await PostgresSchema.checkDurability(connection, allowAsync: allowAsync, logger: logger)
        let durable = off.isEmpty ? "commits durable" : "commits NOT durable (\(off.joined(separator: " and ")) off, allowed by allow_async)"
        let version = try await connection.query("SHOW server_version", logger: logger).decode(String.self).collect().first ?? "?"
        let tables = try await connection.query(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'atomd' AND tablename = 'migrations'", logger: logger)
            .decode(Int.self).collect().first ?? 0
        let applied = tables == 0 ? [] : try await connection.query("SELECT name FROM atomd.migrations ORDER BY name", logger: logger)
            .decode(String.self).collect()
        let schema = applied.isEmpty ? "no journal yet (the agent makes it at its first start)" : "journal schema \(applied.last ?? "")"
        return "PostgreSQL \(version), \(durable), \(schema)"
    }

    /// Lets go of the ownership, then ends the pool: its connections close.
    /// Nothing may use the journal after.
    public func close() async {
        if let held = ownership.withLock({ $0.take() }) { await held.release() }
        runner.cancel()
        await runner.value
    }

    public var location: String { settings.location }

    /// Commits made for transitions (`record`), as on SQLite.
    public var transactionCount: Int { transactions.load(ordering: .relaxed) }

    // MARK: Writes

    public func record(_ events: [EngineEvent]) async throws {
        let transitions = EventCoding.transitions(events)
        guard !transitions.isEmpty else { return }
        // One statement: autocommitted, it is its own transaction, and the
        // function leaves a batch already stored as it is.
        let batch = PostgresWrites.batch(transitions)
        try await write(transaction: false) { [logger] connection in
            try await connection.run("SELECT atomd.record_events(\(batch)::jsonb)", logger: logger)
        }
        transactions.add(1, ordering: .relaxed)
    }

    public func createRun(_ run: NewRun) async throws {
        try await write { [logger] connection in try await PostgresWrites.insert(run, on: connection, logger: logger) }
    }

    public func holdSpoolFile(_ file: String, for runID: String) async throws {
        try await write { [logger] connection in
            try await connection.run("UPDATE runs SET spool_file = \(file) WHERE id = \(runID)", logger: logger)
        }
    }

    public func releaseSpoolFile(of runID: String) async throws {
        try await write { [logger] connection in
            try await connection.run("UPDATE runs SET spool_file = NULL WHERE id = \(runID)", logger: logger)
        }
    }

    public func releaseSpoolFiles(except present: Set<String>) async throws {
        let kept = Array(present)
        try await write { [logger] connection in
            try await connection.run("""
                UPDATE runs SET spool_file = NULL WHERE spool_file IS NOT NULL AND NOT (spool_file = ANY(\(kept)))
                """, logger: logger)
        }
    }

    /// Deletes `runs` with their steps and events, in one transaction.
    func remove(_ runs: [String]) async throws {
        try await write { [logger] connection in
            for table in ["events", "steps"] {
                try await connection.run("DELETE FROM \(unescaped: table) WHERE run_id = ANY(\(runs))", logger: logger)
            }
            try await connection.run("DELETE FROM runs WHERE id = ANY(\(runs))", logger: logger)
        }
    }

    public func prune(closedBefore cutoff: Date) async throws -> [String] {
        let ids = try await runs(closedBefore: cutoff)
        guard !ids.isEmpty else { return [] }
        try await remove(ids)
        return ids
    }

    /// One transaction (or, with `transaction: false`, one statement, which
    /// is its own), tried again while the database is away, up to the outage
    /// limit. Every write can be repeated as it is: a try whose answer was
    /// lost may have committed.
    private func write(transaction: Bool = true, _ body: @escaping @Sendable (PostgresConnection) async throws -> Void) async throws {
        let deadline = ContinuousClock.now + settings.config.outage
        try await crashHook.write {
            var delay: Duration = .milliseconds(100)
            var attempt = 1
            while true {
                if let reason = fence.reason { throw JournalError("the journal refuses this record: \(reason)") }
                let tryNumber = attempt
                do {
                    // A try waits at most a few seconds for the server, so
                    // that an outage is noticed (and logged) while it lasts.
                    let remaining = min(max(deadline - .now, .milliseconds(100)), Self.tryLimit)
                    try await Deadline.within(remaining) { [client, logger] in
                        if transaction {
                            try await client.withTransaction(logger: logger) { connection in try await body(connection) }
                        } else {
                            try await client.withConnection { connection in try await body(connection) }
                        }
                    }
                    endOutage()
                    return
                } catch {
                    // A try that was cut off may commit later: the row it
                    // wrote is then already there, and this write is done.
                    if tryNumber > 1, PostgresErrorText.isUniqueViolation(error) {
                        endOutage()
                        return
                    }
                    guard PostgresErrorText.isOutage(error) || error is DeadlinePassed, ContinuousClock.now < deadline else {
                        throw JournalError("the journal \(location) could not store a record: \(PostgresErrorText.describe(error))")
                    }
                    beginOutage(error)
                    try await Task.sleep(for: min(delay, max(deadline - .now, .zero)))
                    delay = min(delay * 2, .seconds(2))
                    attempt += 1
                }
            }
        }
    }

    static let tryLimit: Duration = .seconds(5)

    /// The pool's own log: every failed connection attempt of an outage
    /// at info level, which the journal reports itself, once.
    private static func quiet(_ logger: Logger) -> Logger {
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .error)
        return quiet
    }

    private func beginOutage(_ error: any Error) {
        let first = outageSince.withLock { since -> Bool in
            guard since == nil else { return false }
            since = .now
            return true
        }
        if first {
            logger.warning("journal: \(location) cannot be reached (\(PostgresErrorText.describe(error))); writes are tried again for up to \(settings.config.outage.components.seconds) s, and no step starts meanwhile")
        }
    }

    private func endOutage() {
        guard let since = outageSince.withLock({ $0.take() }) else { return }
        let seconds = ContinuousClock.now - since
        logger.notice("journal: \(location) is reachable again; writes waited \(String(format: "%.1f", Double(seconds.components.seconds) + Double(seconds.components.attoseconds) / 1e18)) s")
    }
}
