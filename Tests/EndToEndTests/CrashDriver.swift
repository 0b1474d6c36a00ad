import Foundation
import Testing

/// Crashes the real `atomd` with its crash hook (`ATOMD_CRASH_AT`), resumes
/// the run with `atomd resume` (crashing that too, when asked) and reports
/// how the run ended, from the journal.
struct CrashDriver {
    struct Crash: CustomStringConvertible {
        var at: Int
        var after: Bool
        var description: String { "\(after ? "after" : "before") write \(at)" }

        var environment: [String: String] { ["ATOMD_CRASH_AT": String(at), "ATOMD_CRASH_WHEN": after ? "after" : "before"] }
    }

    struct Outcome {
        /// Nil when the crash came before the run was recorded.
        var runID: String?
        var status: String?
        /// Journal writes of the first process, and of the first resume.
        var writes: Int
        var recoveryWrites: Int
        var steps: [[String: Any]]
    }

    let job: String
    let vars: [String]
    let home: String
    /// For every atomd process: where the job's secrets are read from.
    let environment: [String: String]
    /// `--journal URL` for a journal in PostgreSQL; none for SQLite.
    let journal: [String]

    init(job: String, vars: [String], environment: [String: String] = [:], journal: [String] = []) {
        self.job = job
        self.vars = vars
        self.environment = environment
        self.journal = journal
        home = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-crash-\(UUID().uuidString)").path
    }

    func cleanUp() {
        for path in [home, "\(home).tally0", "\(home).tally1"] { try? FileManager.default.removeItem(atPath: path) }
    }

    private var arguments: [String] {
        ["run", job, "--home", home] + journal + vars.flatMap { ["--var", $0] }
    }

    /// Runs the job, crashing as asked, and resumes until the run has ended.
    func run(first: Crash?, second: Crash? = nil) async throws -> Outcome {
        let started = try await AtomdProcess.run(arguments, environment: environment.merging(first?.environment ?? [:]) { $1 }.merging(tally(0)) { $1 })
        return try await finish(started, second: second)
    }

    /// Asks the process to count its journal writes (transactions, which
    /// may hold several events) into a file beside the home.
    private func tally(_ process: Int) -> [String: String] {
        ["ATOMD_CRASH_TALLY": "\(home).tally\(process)"]
    }

    private func tallied(_ process: Int) -> Int {
        (try? String(contentsOfFile: "\(home).tally\(process)", encoding: .utf8)).flatMap { Int($0) } ?? 0
    }

    /// Runs the job, kills it with SIGKILL after `delay` (unless it ended
    /// first), and resumes it.
    func run(killAfter delay: Duration) async throws -> Outcome {
        let running = try AtomdProcess.start(arguments, environment: environment)
        try await Task.sleep(for: delay)
        kill(running.process.processIdentifier, SIGKILL)
        return try await finish(try await running.finish(), second: nil)
    }

    private func finish(_ started: AtomdProcess.Result, second: Crash?) async throws -> Outcome {
        guard let runID = try await runIDs().first else {
            #expect(started.killed, "no run recorded, yet atomd was not killed: \(started.stderr)")
            return Outcome(runID: nil, status: nil, writes: 0, recoveryWrites: 0, steps: [])
        }
        let writes = tallied(0)
        var recoveryWrites = 0
        if started.killed {
            let resumed = try await AtomdProcess.run(["resume", runID, "--home", home] + journal,
                                               environment: environment.merging(second?.environment ?? [:]) { $1 }.merging(tally(1)) { $1 })
            recoveryWrites = tallied(1)
            if resumed.killed {
                // A kill right after the last write leaves nothing to resume (exit 2).
                let final = try await AtomdProcess.run(["resume", runID, "--home", home] + journal, environment: environment)
                #expect(!final.killed && (final.status <= 1 || final.stderr.contains("already ended")),
                        "second resume: \(final.status)\n\(final.stdout)\(final.stderr)")
            } else {
                #expect(resumed.status <= 1 || resumed.status == 2, "resume: \(resumed.status)\n\(resumed.stdout)\(resumed.stderr)")
            }
        }
        let shown = try await AtomdProcess.run(["show", runID, "--home", home, "--json"] + journal)
        #expect(shown.status == 0, "atomd show exited \(shown.status): \(shown.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any]
        let run = object?["run"] as? [String: Any]
        #expect(run?["open"] as? Bool == false, "run \(runID) still open")
        return Outcome(runID: runID, status: run?["status"] as? String, writes: writes, recoveryWrites: recoveryWrites,
                       steps: object?["steps"] as? [[String: Any]] ?? [])
    }

    private func runIDs() async throws -> [String] {
        guard !journal.isEmpty || FileManager.default.fileExists(atPath: home + "/journal.sqlite") else { return [] }
        let listed = try await AtomdProcess.run(["runs", "--home", home, "--json"] + journal)
        guard listed.status == 0 else {
            Issue.record("atomd runs exited \(listed.status): \(listed.stderr)")
            return []
        }
        let runs = try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]] ?? []
        return runs.compactMap { $0["id"] as? String }
    }
}
