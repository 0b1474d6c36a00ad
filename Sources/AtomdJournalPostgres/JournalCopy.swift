import AtomdEngine
import AtomdJournal
import Crypto
import Foundation
import PostgresNIO

/// `atomd journal copy`: a home's closed runs (each with its steps, which
/// `show` and `logs` read, and its whole history) moved from a SQLite
/// journal into a PostgreSQL one, in one transaction, then verified: the
/// counts, and a hash of every run as each journal reads it back.
public enum JournalCopy {
    /// Why nothing was copied, when the operator has something to do first
    /// (`JournalError`: a journal cannot be used).
    public struct Refused: Error, CustomStringConvertible {
        public var message: String
        public var hint: String
        public var description: String { "\(message); \(hint)" }
    }

    /// What was copied, and the hash both sides agreed on.
    public struct Report: Sendable, Encodable {
        public var runs: Int
        public var steps: Int
        public var events: Int
        /// Runs already there, identical, from an earlier copy: left as they are.
        public var alreadyThere: Int
        /// SHA-256 over every copied run as both journals read it back.
        public var sha256: String
    }

    /// Each table's columns with their PostgreSQL types: a value is cast
    /// to its column's type, NULL included.
    static let runColumns = columns("""
        id text, job_name text, job_file text, job_text text, job_sha256 text, vars text, status text, detail text, created_at float8,
        started_at float8, finished_at float8, closed_at float8, spool_file text, submission text, on_failure text, rehearsal text,
        submitter int8
        """)
    static let stepColumns = columns("""
        run_id text, step_id text, path text, status text, attempts int8, key_attempt int8, idempotency_key text, effect text, input text,
        outputs text, error text, compensation text, process_group int8, state text, started_at float8, finished_at float8
        """)
    static let eventColumns = columns("""
        run_id text, sequence int8, time float8, kind text, status text, step_id text, step_path text, attempt int8, detail text, data text,
        idempotency_key text, effect text, context text
        """)

    private static func columns(_ text: String) -> [(name: String, type: String)] {
        text.split(separator: ",").map { column in
            let parts = column.split(whereSeparator: \.isWhitespace)
            return (String(parts[0]), String(parts[1]))
        }
    }

    /// Copies every run of `source` (a journal.sqlite) into `target`.
    /// Refuses, copying nothing, while a run is open (naming them), when the
    /// file is not an up-to-date journal, or when a run of the same id but
    /// other content is already in the target.
    public static func copy(from path: String, to target: PostgresJournal) async throws -> Report {
        let source: JournalExport
        do {
            source = try JournalExport.read(path)
        } catch let refused as JournalExport.Refused {
            throw Refused(message: refused.message, hint: refused.hint)
        }
        var report = Report(runs: 0, steps: 0, events: 0, alreadyThere: 0, sha256: "")
        var selected: [String] = []
        for row in source.runs {
            guard case .text(let id)? = row["id"] else { continue }
            if try await target.run(id) != nil {
                guard try await fingerprint(id, source.reader) == (try await fingerprint(id, target)) else {
                    throw Refused(message: "run \(id) is already in \(target.location) with other content; nothing was copied",
                                  hint: "copy into another database, or remove that run there first")
                }
                report.alreadyThere += 1
                continue
            }
            selected.append(id)
        }
        let wanted = Set(selected)
        func belongs(_ row: JournalExport.Row) -> Bool {
            if case .text(let id)? = row["run_id"] { return wanted.contains(id) }
            return false
        }
        let runRows = source.runs.filter { if case .text(let id)? = $0["id"] { wanted.contains(id) } else { false } }
        let stepRows = source.steps.filter(belongs), eventRows = source.events.filter(belongs)
        do {
            try await target.importRows(runs: runRows.map { values($0, runColumns) }, steps: stepRows.map { values($0, stepColumns) },
                                        events: eventRows.map { values($0, eventColumns) },
                                        columns: (runColumns, stepColumns, eventColumns))
        } catch {
            throw JournalError("cannot copy into \(target.location): \(PostgresErrorText.describe(error)); nothing was copied")
        }
        report.runs = selected.count
        report.steps = stepRows.count
        report.events = eventRows.count
        // Read back through both journals' own read side: what atomd shows
        // from the copy is what it showed from the original.
        var hash = SHA256()
        do {
            let copiedRows = try await target.counts(of: selected)
            guard copiedRows == (selected.count, report.steps, report.events) else {
                throw JournalError("\(target.location) holds \(copiedRows) rows of the copied runs, not \((selected.count, report.steps, report.events))")
            }
            for id in selected {
                let before = try await fingerprint(id, source.reader), after = try await fingerprint(id, target)
                guard before == after else {
                    throw JournalError("run \(id) reads back differently from \(target.location) than from \(path)")
                }
                hash.update(data: Data(after.utf8))
            }
        } catch {
            // What does not read back the same is taken out again: a copy
            // is whole and verified, or not there.
            let removed = (try? await target.remove(selected)) != nil
            throw JournalError("the copy is not to be trusted: \(error)",
                               hint: removed ? "the copied runs were removed again; the SQLite journal is unchanged; report this"
                                   : "the copied runs could not be removed again (\(selected.count) runs from \(selected.first ?? "")); remove them by hand")
        }
        report.sha256 = hash.finalize().map { String(format: "%02x", $0) }.joined()
        return report
    }

    /// A run as a journal reads it: its row, steps and events, as JSON.
    private static func fingerprint(_ id: String, _ journal: any JournalStore) async throws(JournalError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .secondsSince1970
        var run = try await journal.run(id)
        run?.spoolFile = nil
        let steps = try await journal.steps(of: id), events = try await journal.events(of: id)
        do {
            return String(decoding: try encoder.encode(run), as: UTF8.self) + String(decoding: try encoder.encode(steps), as: UTF8.self)
                + String(decoding: try encoder.encode(events), as: UTF8.self)
        } catch {
            throw JournalError("cannot encode run \(id): \(error)")
        }
    }

    /// The row's values in `columns`' order, as PostgreSQL takes them.
    private static func values(_ row: JournalExport.Row, _ columns: [(name: String, type: String)]) -> [JournalExport.Value] {
        columns.map { row[$0.name] ?? .null }
    }
}
