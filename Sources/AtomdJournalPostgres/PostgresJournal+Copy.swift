import AtomdEngine
import AtomdJournal
import Foundation
import Logging
import PostgresNIO

/// What `atomd journal copy` and the journal benchmark need beyond the
/// journal's own writes.
extension PostgresJournal {
    /// Microseconds of each of `count` single-row commits (one INSERT,
    /// autocommitted, on one pooled connection, into a table of its own):
    /// what the journal-benchmark holds a durable step against.
    public func commitSamples(count: Int) async throws -> [Double] {
        try await client.withConnection { [logger] connection in
            try await connection.run("CREATE TABLE IF NOT EXISTS commit_benchmark (id BIGINT PRIMARY KEY, body TEXT)", logger: logger)
            try await connection.run("TRUNCATE commit_benchmark", logger: logger)
            let body = String(repeating: "x", count: 200)
            var samples: [Double] = []
            let clock = ContinuousClock()
            for index in 0..<count {
                let start = clock.now
                try await connection.run("INSERT INTO commit_benchmark (id, body) VALUES (\(index), \(body))", logger: logger)
                let elapsed = clock.now - start
                samples.append(Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12)
            }
            try await connection.run("DROP TABLE commit_benchmark", logger: logger)
            return samples
        }
    }

    /// Inserts copied rows as they are, in one transaction (`JournalCopy`).
    func importRows(runs: [[JournalExport.Value]], steps: [[JournalExport.Value]], events: [[JournalExport.Value]],
                    columns: ([(name: String, type: String)], [(name: String, type: String)], [(name: String, type: String)])) async throws {
        try await Deadline.within(.seconds(3600)) { [client, logger] in
            try await client.withTransaction(logger: logger) { connection in
                for (table, rows, names) in [("runs", runs, columns.0), ("steps", steps, columns.1), ("events", events, columns.2)] {
                    for row in rows {
                        var bindings = PostgresBindings(capacity: row.count)
                        for value in row {
                            switch value {
                            case .null: bindings.appendNull()
                            case .integer(let number): bindings.append(number)
                            case .real(let number): bindings.append(number)
                            case .text(let text): bindings.append(text)
                            }
                        }
                        let placeholders = names.enumerated().map { "$\($0.offset + 1)::\($0.element.type)" }.joined(separator: ", ")
                        let query = PostgresQuery(unsafeSQL: "INSERT INTO \(table) (\(names.map(\.name).joined(separator: ", "))) VALUES (\(placeholders))",
                                              binds: bindings)
                        try await connection.run(query, logger: logger)
                    }
                }
            }
        }
    }

    /// Rows of `runs` in each table: runs, steps, events.
    func counts(of runs: [String]) async throws(JournalError) -> (Int, Int, Int) {
        let rows = try await rows("""
            SELECT (SELECT count(*) FROM runs WHERE id = ANY(\(runs))), (SELECT count(*) FROM steps WHERE run_id = ANY(\(runs))),
                   (SELECT count(*) FROM events WHERE run_id = ANY(\(runs)))
            """) { row in try row.decode((Int, Int, Int).self) }
        return rows.first ?? (0, 0, 0)
    }

}
