import AtomdJournal
import AtomdJournalPostgres
import AtomdSpec
import AtomdTestSupport
import Foundation
import Testing

/// The journal's two homes, for suites that hold both to the same promises:
/// SQLite in a temporary home, and a new database of the shared throwaway
/// PostgreSQL cluster.
enum JournalBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }

    /// A place for a new, empty journal; `open` opens it (again).
    func place() async throws -> JournalPlace {
        switch self {
        case .sqlite:
            return .sqlite(FileManager.default.temporaryDirectory.appendingPathComponent("atomd-journal-\(UUID().uuidString)").path)
        case .postgres:
            let cluster = try await PostgresCluster.shared()
            let database = try await cluster.createDatabase()
            guard case .success(let url) = PostgresURL.parse(cluster.socketURL(database)) else {
                throw PostgresCluster.Failure("the cluster's URL does not parse: \(cluster.socketURL(database))")
            }
            return .postgres(PostgresSettings(PostgresJournalConfig(url: url)))
        }
    }
}

enum JournalPlace: Sendable {
    case sqlite(String)
    case postgres(PostgresSettings)

    func open() async throws -> any JournalStore {
        switch self {
        case .sqlite(let home): try DurableJournal.open(home: home)
        case .postgres(let settings): try await PostgresJournal.open(settings)
        }
    }

    /// Removes a SQLite home; a database is left to the cluster's end.
    func remove() {
        if case .sqlite(let home) = self { try? FileManager.default.removeItem(atPath: home) }
    }
}
