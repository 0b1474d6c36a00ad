import Foundation

/// SQL on a journal file through Python's sqlite3, for tests that read what
/// the agent keeps or age it: the test target does not link the journal.
enum JournalSQL {
    /// The first column of the first row, as a number (-1 when it is not one).
    static func number(_ path: String, _ query: String) -> Int {
        Int(run(path, query, script: "print(c.execute(sys.argv[2]).fetchone()[0])")?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? -1
    }

    /// Runs one statement and commits it. True when it succeeded.
    static func execute(_ path: String, _ statement: String) -> Bool {
        run(path, statement, script: "c.execute(sys.argv[2]); c.commit()") != nil
    }

    /// What the script printed; nil when it failed.
    private static func run(_ path: String, _ sql: String, script: String) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); " + script, path, sql]
        let pipe = Pipe()
        process.standardOutput = pipe
        guard (try? process.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
    }
}
