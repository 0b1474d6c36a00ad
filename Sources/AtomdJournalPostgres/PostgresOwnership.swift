import AtomdJournal
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// Who owns a PostgreSQL journal, as `HomeOwnership` says who owns a home:
/// one agent, or any number of `atomd run`, `resume` and `rehearse`, never
/// both. Two agents on one journal would each take the other's live runs
/// for interrupted ones (until the fleet shares a journal run by run).
///
/// The lock is a session advisory lock held on a connection of its own for
/// the owner's life: the server frees it when the owner's connection ends,
/// however the owner dies. A connection cut while the owner lives loses the
/// lock; the owner takes it again, and if another has taken it meanwhile,
/// the journal refuses every write from then on (`fenced`), so the runs
/// here stop as on a crash rather than act beside the new owner's.
final class PostgresOwnership: Sendable {
    static let lockKey: Int64 = 0x6174_6F6D_6400_0002

    private let holder: Task<Void, Never>

    private init(holder: Task<Void, Never>) {
        self.holder = holder
    }

    /// Takes the journal for `exclusive` (an agent) or shared use, or says
    /// at once who holds it.
    /// `fence` is set when the lock is lost to another owner.
    static func claim(client: PostgresClient, exclusive: Bool, location: String, fence: JournalFence,
                      logger: Logger) async throws(JournalError) -> PostgresOwnership {
        let first = AsyncStream<Result<Void, JournalError>>.makeStream()
        let holder = Task {
            var taken = false
            while !Task.isCancelled {
                do {
                    try await client.withConnection { connection in
                        let refusal = try await take(connection, exclusive: exclusive, logger: logger)
                        if let refusal {
                            if taken {
                                fence.set("\(location) was taken by \(refusal) while the connection holding it was cut")
                                logger.critical("journal: \(fence.reason ?? ""); no run here writes to it any more")
                            }
                            first.continuation.yield(.failure(JournalError(exclusive
                                ? "\(location) is in use by \(refusal); one agent owns a journal at a time (stop the other)"
                                : "\(location) is owned by \(refusal); submit the job to it (atomd submit), or stop it first")))
                            return
                        }
                        taken = true
                        first.continuation.yield(.success(()))
                        // Held until cancelled; a keep-alive notices a cut connection.
                        // A query on a connection the server ended may never
                        // answer: one that does not within 5 s counts as cut.
                        while !Task.isCancelled {
                            try await Task.sleep(for: .seconds(2))
                            guard !connection.isClosed else { throw JournalError("the server closed the connection") }
                            try await Deadline.within(.seconds(5)) { try await connection.run("SELECT 1", logger: logger) }
                        }
                    }
                } catch {
                    guard !Task.isCancelled else { return }
                    if !taken {
                        first.continuation.yield(.failure(JournalError("cannot lock \(location): \(PostgresErrorText.describe(error))")))
                        return
                    }
                    logger.warning("journal: the connection holding \(location) was cut (\(PostgresErrorText.describe(error))); taking it again")
                    try? await Task.sleep(for: .seconds(1))
                    continue
                }
                if fence.reason != nil || !taken { return }
            }
        }
        for await result in first.stream {
            switch result {
            case .success: return PostgresOwnership(holder: holder)
            case .failure(let error):
                holder.cancel()
                throw error
            }
        }
        throw JournalError("cannot lock \(location): cancelled")
    }

    /// Nil when taken; else who holds it, as its connection names itself.
    /// Advisory locks are the database's: another database of the same
    /// server, with an agent of its own, is not asked about.
    private static func take(_ connection: PostgresConnection, exclusive: Bool, logger: Logger) async throws -> String? {
        let rows = exclusive
            ? try await connection.query("SELECT pg_try_advisory_lock(\(lockKey))", logger: logger)
            : try await connection.query("SELECT pg_try_advisory_lock_shared(\(lockKey))", logger: logger)
        var taken = false
        for try await value in rows.decode(Bool.self) { taken = value }
        guard !taken else { return nil }
        let holders = try await connection.query("""
            SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.pid <> pg_backend_pid()
              AND l.classid::int8 = \(lockKey >> 32) AND l.objid::int8 = \(lockKey & 0xFFFF_FFFF)
              AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            LIMIT 1
            """, logger: logger)
        for try await name in holders.decode(String.self) { return name.isEmpty ? "another connection" : name }
        return "another connection"
    }

    /// Cancels the holder; its connection ends with the pool. Not waited
    /// for past 5 s: a connection the server cut may never answer.
    func release() async {
        holder.cancel()
        let holder = holder
        _ = try? await Deadline.within(.seconds(5)) { await holder.value }
    }
}

/// Set once the journal's ownership was lost: every write is refused after.
final class JournalFence: Sendable {
    private let state = Mutex<String?>(nil)

    var reason: String? { state.withLock { $0 } }

    func set(_ reason: String) {
        state.withLock { $0 = $0 ?? reason }
    }
}
