import AtomdTestSupport
import Foundation
import Testing

/// Where a test's `atomd` keeps its journal: SQLite in the home (no
/// arguments), or a new database of the shared throwaway PostgreSQL cluster
/// (`--journal URL`). Suites that hold both to the same promises take it as
/// their argument.
enum TestJournal: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }

    /// The arguments every `atomd` command of one case takes.
    func arguments() async throws -> [String] {
        switch self {
        case .sqlite: return []
        case .postgres:
            let cluster = try await PostgresCluster.shared()
            return ["--journal", cluster.socketURL(try await cluster.createDatabase())]
        }
    }
}
