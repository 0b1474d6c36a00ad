import AtomdTestSupport
import Foundation
import Testing

/// Kill `atomd` at every journal write, before and after the commit, resume,
/// and again with a second kill during the recovery: every run must end
/// succeeded with its effects present, or reverted with nothing left.
@Suite(.serialized) struct CrashRecoveryTests {
    /// Every second crash point of every recovery, or (the default, to keep
    /// CI short) `spread` points spread over each recovery.
    /// `ATOMD_CRASH_FULL=1` for all of them.
    static let everySecondPoint = ProcessInfo.processInfo.environment["ATOMD_CRASH_FULL"] == "1"

    static func secondPoints(_ recoveryWrites: Int, first: Int, spread: Int) -> [Int] {
        guard recoveryWrites > 0 else { return [] }
        if everySecondPoint { return Array(1...recoveryWrites) }
        let points = [(first % recoveryWrites) + 1, 1, recoveryWrites, (first * 7 % recoveryWrites) + 1].prefix(spread)
        return Array(Set(points)).sorted()
    }

    /// Runs `check` for each crash: at every write of a clean run (and one
    /// past the end), before and after, then each with a second crash during
    /// its recovery. Four cases run at once: each has its own home.
    static func everyCrash(job: String, vars: @escaping @Sendable () -> [String], environment: [String: String] = [:],
                           journal: TestJournal = .sqlite, label: String, spread: Int,
                           check: @escaping @Sendable (CrashDriver.Outcome, [String], String) async throws -> Void) async throws {
        let probeVars = vars()
        let probe = CrashDriver(job: job, vars: probeVars, environment: environment, journal: try await journal.arguments())
        let clean = try await probe.run(first: nil)
        probe.cleanUp()
        try await check(clean, probeVars, "\(label), no crash")
        let firsts = (1...(clean.writes + 1)).flatMap { at in [false, true].map { CrashDriver.Crash(at: at, after: $0) } }
        let results = try await withThrowingTaskGroup(of: [String?].self) { group in
            var next = 0
            var statuses: [String?] = []
            func add() {
                guard next < firsts.count else { return }
                let first = firsts[next]
                next += 1
                group.addTask {
                    var seen: [String?] = []
                    let caseVars = vars()
                    let driver = CrashDriver(job: job, vars: caseVars, environment: environment, journal: try await journal.arguments())
                    let once = try await driver.run(first: first)
                    driver.cleanUp()
                    try await check(once, caseVars, "\(label), crash \(first)")
                    seen.append(once.status)
                    for point in secondPoints(once.recoveryWrites, first: first.at, spread: spread) {
                        let second = CrashDriver.Crash(at: point, after: !first.after)
                        let secondVars = vars()
                        let twice = CrashDriver(job: job, vars: secondVars, environment: environment,
                                                journal: try await journal.arguments())
                        let outcome = try await twice.run(first: first, second: second)
                        twice.cleanUp()
                        try await check(outcome, secondVars, "\(label), crash \(first), then \(second) of the recovery")
                        seen.append(outcome.status)
                    }
                    return seen
                }
            }
            for _ in 0..<4 { add() }
            while let seen = try await group.next() {
                statuses += seen
                add()
            }
            return statuses
        }
        let outcomes = Dictionary(grouping: results, by: { $0 ?? "not recorded" }).mapValues(\.count)
        print("\(label) (\(journal.rawValue)): \(results.count) crash points covered (\(firsts.count) first crashes over \(clean.writes) journal writes, "
              + "\(results.count - firsts.count) second crashes during recovery); outcomes \(outcomes)")
        #expect(results.count > clean.writes * 2)
    }

    @Test(arguments: TestJournal.allCases)
    func launchAndAttachSurvivesACrashAtEveryWrite(_ journal: TestJournal) async throws {
        let cloud = try await FakeCloudProcess(["--build-delay", "30", "--max-servers", "100000", "--max-volumes", "100000"])
        let base = cloud.base
        try await Self.everyCrash(job: "etc/jobs/launch-and-attach.yaml", vars: { ["api=\(base)"] }, journal: journal, label: "launch-and-attach",
                                  spread: 2) { outcome, _, context in
            #expect(outcome.status == nil || outcome.status == "succeeded", "\(outcome.status ?? "-"); \(context)")
            try await Self.expectLedger(cloud, outcome, context)
        }
    }

    @Test(arguments: TestJournal.allCases)
    func aFailingLaunchAndAttachSurvivesACrashAtEveryWrite(_ journal: TestJournal) async throws {
        let cloud = try await FakeCloudProcess(["--build-delay", "30", "--max-servers", "100000", "--max-volumes", "100000"])
        try await cloud.inject(#"{"route": "POST /servers/*/attachments", "status": 500}"#)
        let base = cloud.base
        try await Self.everyCrash(job: "etc/jobs/launch-and-attach.yaml", vars: { ["api=\(base)"] }, journal: journal,
                                  label: "launch-and-attach, failing", spread: 2) { outcome, _, context in
            #expect(outcome.status == nil || outcome.status == "reverted", "\(outcome.status ?? "-"); \(context)")
            try await Self.expectLedger(cloud, outcome, context)
        }
    }

    /// SIGKILL at random moments (seeded; the seed is printed), then resume:
    /// 100 runs on SQLite and 40 on PostgreSQL, alternating the succeeding
    /// and the failing variant.
    @Test func randomKillsEndDoneOrCompensated() async throws {
        let seed = UInt64(ProcessInfo.processInfo.environment["ATOMD_SEED"] ?? "") ?? UInt64.random(in: 1...UInt64.max / 2)
        print("random kills: seed \(seed) (replay with ATOMD_SEED=\(seed))")
        let good = try await FakeCloudProcess(["--build-delay", "30", "--max-servers", "100000", "--max-volumes", "100000"])
        let bad = try await FakeCloudProcess(["--build-delay", "30", "--max-servers", "100000", "--max-volumes", "100000"])
        try await bad.inject(#"{"route": "POST /servers/*/attachments", "status": 500}"#)
        var random = SeededGenerator(seed: seed)
        let cases = (0..<140).map { index in (index, UInt64.random(in: 0...350, using: &random)) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            var pending = cases[...]
            func add() {
                guard let (index, delay) = pending.popFirst() else { return }
                let cloud = index % 2 == 0 ? good : bad
                group.addTask {
                    let journal: TestJournal = index < 100 ? .sqlite : .postgres
                    let driver = CrashDriver(job: "etc/jobs/launch-and-attach.yaml", vars: ["api=\(cloud.base)"],
                                             journal: try await journal.arguments())
                    defer { driver.cleanUp() }
                    let outcome = try await driver.run(killAfter: .milliseconds(delay))
                    let context = "run \(index) (\(journal.rawValue)), killed after \(delay) ms (seed \(seed))"
                    #expect(outcome.status == nil || outcome.status == (index % 2 == 0 ? "succeeded" : "reverted"),
                            "\(outcome.status ?? "-"); \(context)")
                    try await Self.expectLedger(cloud, outcome, context)
                }
            }
            for _ in 0..<4 { add() }
            while try await group.next() != nil { add() }
        }
    }

    /// Succeeded: one server, one volume, one attachment made by the run, all
    /// live. Reverted: nothing the run made is live. Never two creates for
    /// one idempotency key.
    static func expectLedger(_ cloud: FakeCloudProcess, _ outcome: CrashDriver.Outcome, _ context: String) async throws {
        guard let runID = outcome.runID else { return }
        let ledger = try JSONSerialization.jsonObject(with: Data(try await cloud.call("GET", "/ledger").body)) as? [String: Any]
        let events = ledger?["events"] as? [[String: Any]] ?? []
        let live = (ledger?["live"] as? [String: [String]] ?? [:]).values.flatMap { $0 }
        let creates = events.filter { $0["op"] as? String == "create" && ($0["idempotency_key"] as? String)?.hasPrefix(runID + "/") == true }
        let keys = creates.compactMap { $0["idempotency_key"] as? String }
        #expect(Set(keys).count == keys.count, "two creates for one idempotency key: \(keys); \(context)")
        let made = creates.compactMap { $0["id"] as? String }
        switch outcome.status {
        case "succeeded":
            #expect(made.count == 3 && made.allSatisfy(live.contains), "made \(made), live \(live); \(context)")
        case "reverted":
            #expect(!made.contains(where: live.contains), "left behind: \(made.filter(live.contains)); \(context)")
        default:
            Issue.record("run ended \(outcome.status ?? "-"); \(context)")
        }
    }
}
