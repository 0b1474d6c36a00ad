import Foundation
import GRDB

/// A SQLite journal read as rows, for `atomd journal copy`: every table's
/// rows by column name, through a read-only connection that changes
/// nothing, and a journal to read the same runs back through.
package struct JournalExport: Sendable {
    /// One value of a row, as SQLite holds it.
    package enum Value: Sendable, Equatable {
        case null, integer(Int64), real(Double), text(String)
    }

    package typealias Row = [String: Value]

    package let path: String
    package let runs: [Row]
    package let steps: [Row]
    package let events: [Row]
    /// The same file as a journal, to read back (any write fails).
    package let reader: DurableJournal

    /// Why the file cannot be exported as it is: an operator's to mend.
    package struct Refused: Error, Sendable {
        package var message: String
        package var hint: String
    }

    /// Reads the whole journal at `path`; refuses one whose schema is not
    /// this atomd's, or that has open runs (named, oldest first).
    package static func read(_ path: String) throws -> JournalExport {
        guard FileManager.default.fileExists(atPath: path) else { throw JournalError("there is no journal at \(path)") }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(10)
        let queue: DatabaseQueue
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
        } catch {
            throw JournalError("cannot open \(path): \(error)")
        }
        do {
            return try queue.read { db in
                guard try JournalSchema.migrator.hasCompletedMigrations(db), try !JournalSchema.migrator.hasBeenSuperseded(db) else {
                    throw Refused(message: "\(path) is not a journal of this atomd's version",
                                  hint: "open it once with this atomd (atomd runs --home HOME) to bring it up to date, then copy")
                }
                let open = try String.fetchAll(db, sql: "SELECT id FROM runs WHERE closed_at IS NULL ORDER BY created_at, id")
                guard open.isEmpty else {
                    throw Refused(message: "\(path) has open runs, which only this home can finish: \(open.joined(separator: ", "))",
                                  hint: "let them end (the agent, or atomd resume RUN --home …), or cancel them, then copy again")
                }
                return JournalExport(path: path, runs: try rows(db, "SELECT * FROM runs ORDER BY created_at, id"),
                                     steps: try rows(db, "SELECT * FROM steps ORDER BY rowid"),
                                     events: try rows(db, "SELECT * FROM events ORDER BY run_id, sequence"),
                                     reader: DurableJournal.reader(queue, path: path))
            }
        } catch let refused as Refused {
            throw refused
        } catch {
            throw JournalError("cannot read \(path): \(error)")
        }
    }

    private static func rows(_ db: Database, _ sql: String) throws -> [Row] {
        try GRDB.Row.fetchAll(db, sql: sql).map { row in
            var values: Row = [:]
            for (column, value) in row {
                values[column] = switch value.storage {
                case .null: .null
                case .int64(let number): .integer(number)
                case .double(let number): .real(number)
                case .string(let text): .text(text)
                case .blob(let data): .text(String(decoding: data, as: UTF8.self))
                }
            }
            return values
        }
    }
}
