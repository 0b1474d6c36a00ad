import AtomdEngine
import AtomdJournal
import AtomdJournalPostgres
import AtomdSpec
import Foundation
import GRDB
import Logging

// The durable journal's cost. First one fsync'd SQLite commit (WAL,
// synchronous=FULL, one small row per transaction, as a transition is),
// measured on the same disk in the same run; then a linear job of 1,000
// `test.noop` steps with the journal on (two transitions per step, one
// commit); then several such runs at once, which share commits (group
// commit); then a job of as many steps whose last one fails, compensated.
// With --postgres URL the same on a PostgreSQL journal, against one
// single-row commit on the same server (synchronous_commit on).
// Prints `result: NAME VALUE UNIT` lines for Benchmarks/run.
//
//   swift run -c release journal-benchmark [--steps N] [--runs N (0: none at once)] [--compensate N (0: none)]
//                                          [--sync full|normal] [--postgres postgresql://USER@HOST/DB]

func option(_ name: String) -> String? {
    CommandLine.arguments.firstIndex(of: name).flatMap { CommandLine.arguments.dropFirst($0 + 1).first }
}

let stepCount = option("--steps").flatMap(Int.init) ?? 1000
let concurrent = option("--runs").flatMap(Int.init) ?? 8
let compensated = option("--compensate").flatMap(Int.init) ?? 1000
let durability = option("--sync").flatMap(DurableJournal.Durability.init(rawValue:)) ?? .full
let postgres: PostgresSettings? = try option("--postgres").map { text in
    guard case .success(let url) = PostgresURL.parse(text) else { throw JournalError("--postgres: '\(text)' is not a URL atomd reads") }
    return PostgresSettings(PostgresJournalConfig(url: url))
}
/// What result names call this journal: the sync mode, or `postgres`.
let label = postgres == nil ? durability.rawValue : "postgres"
let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("atomd-journal-bench-\(UUID().uuidString)").path
try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: scratch) }

func microseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
}

/// Median of `count` single-row commits on PostgreSQL: one INSERT each,
/// autocommitted, on one connection, as the journal's are.
func postgresCommitCost(_ settings: PostgresSettings, count: Int) async throws -> Double {
    let journal = try await PostgresJournal.open(settings)
    let samples = try await journal.commitSamples(count: count)
    await journal.close()
    return samples.sorted()[count / 2]
}

/// Median of `count` single-row commits.
func commitCost(count: Int) throws -> Double {
    // The journal's own connection set-up, so the commit measured is the one it makes.
    let database = try DatabaseQueue(path: scratch + "/commit.sqlite", configuration: DurableJournal.configuration(durability))
    let synchronous = try database.read { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
    guard synchronous == durability.synchronous else { throw JournalError("synchronous is \(synchronous ?? -1), not \(durability.synchronous)") }
    try database.write { db in try db.execute(sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)") }
    let clock = ContinuousClock()
    var samples: [Double] = []
    for index in 0..<count {
        let start = clock.now
        try database.write { db in
            try db.execute(sql: "INSERT INTO t (id, body) VALUES (?, ?)", arguments: [index, String(repeating: "x", count: 200)])
        }
        samples.append(microseconds(clock.now - start))
    }
    return samples.sorted()[samples.count / 2]
}

/// `count` `test.noop` steps, and with `failing` one more that fails.
func linearJob(_ count: Int, failing: Bool = false) -> Job {
    var steps = (0..<count).map {
        Step(id: "s\($0)", action: .plugin(PluginAction(plugin: "test", atom: "noop", with: .object([:]))))
    }
    if failing {
        steps.append(Step(id: "last", action: .plugin(PluginAction(plugin: "test", atom: "fail", with: .object(["always": .bool(true)])))))
    }
    return Job(file: "bench", name: "linear-\(count)", steps: steps)
}

/// Wall time per step of `runs` linear jobs run at once on one journal.
func stepCost(runs: Int, home: String, failing: Bool = false) async throws -> (perStep: Double, transitions: Int, commits: Int) {
    let journal: any JournalStore = if let postgres { try await PostgresJournal.open(postgres) }
                                    else { try DurableJournal.open(home: home, durability: durability) }
    // Unique per call: on PostgreSQL every call shares one database.
    let prefix = "bench-\(UUID().uuidString.prefix(8))"
    let job = linearJob(failing ? compensated : stepCount, failing: failing)
    let expected: RunStatus = failing ? .reverted : .succeeded
    let engine = Engine(registry: AtomRegistry(TestAtoms.all()), journal: journal)
    let clock = ContinuousClock()
    let start = clock.now
    let statuses = try await withThrowingTaskGroup(of: RunStatus.self) { group in
        for index in 0..<runs {
            group.addTask {
                let id = "\(prefix)-\(index)"
                try await journal.createRun(NewRun(id: id, jobName: job.name, jobFile: "bench", jobText: "", vars: [:]))
                return try await engine.start(RunRequest(job: job, runID: id)).wait().status
            }
        }
        return try await group.reduce(into: []) { $0.append($1) }
    }
    let elapsed = microseconds(clock.now - start)
    guard statuses.allSatisfy({ $0 == expected }) else { throw JournalError("a run ended \(statuses)") }
    var transitions = 0
    for index in 0..<runs { transitions += try await journal.events(of: "\(prefix)-\(index)").count }
    let commits = journal.transactionCount
    await journal.close()
    return (elapsed / Double(runs * (job.steps.count - (failing ? 1 : 0))), transitions, commits)
}

let commit = if let postgres { try await postgresCommitCost(postgres, count: 300) } else { try commitCost(count: 300) }
print(postgres.map { "journal benchmark (PostgreSQL \($0.location), \(stepCount) steps)" }
      ?? "journal benchmark (synchronous=\(durability.rawValue.uppercased()), \(stepCount) steps)")
// Under NORMAL a WAL commit is not fsync'd: say which commit this is.
print(String(format: postgres != nil ? "one PostgreSQL commit (median of 300): %6.1f µs"
             : durability == .full ? "one fsync'd commit (median of 300):   %8.1f µs"
                                   : "one unsynced commit (median of 300):  %8.1f µs", commit))
let single = try await stepCost(runs: 1, home: scratch + "/one")
print(String(format: "1 run, per step:                      %8.1f µs = %.2f× one commit (%d transitions, %d commits)",
             single.perStep, single.perStep / commit, single.transitions, single.commits))
let sync = label
print(String(format: "result: journal.commit.%@ %.1f us", sync, commit))
print(String(format: "result: engine.%@.linear.%d %.1f us/step", sync, stepCount, single.perStep))
if concurrent > 0 {
    let many = try await stepCost(runs: concurrent, home: scratch + "/many")
    print(String(format: "%d runs at once, per step (wall/steps): %6.1f µs = %.2f× one commit (%d transitions, %d commits)",
                 concurrent, many.perStep, many.perStep / commit, many.transitions, many.commits))
    print(String(format: "result: engine.%@.concurrent%d.%d %.1f us/step", sync, concurrent, stepCount, many.perStep))
}
if compensated > 0 {
    let undo = try await stepCost(runs: 1, home: scratch + "/undo", failing: true)
    print(String(format: "%d steps run, the next fails, all %d reverted: %.1f µs per step (%d transitions, %d commits)",
                 compensated, compensated, undo.perStep, undo.transitions, undo.commits))
    print(String(format: "result: engine.%@.compensate.%d %.1f us/step", sync, compensated, undo.perStep))
}
