import AtomdEngine
import AtomdTestSupport
import Foundation
import Testing
@testable import AtomdSpec

/// Many random jobs, each run to the end, then checked against the
/// transaction invariants. A failure prints the seed and the job so the case
/// can be replayed (`ATOMD_SEED=N swift test --filter Randomized`).
@Suite struct RandomizedInvariantTests {
    static let jobs = Int(ProcessInfo.processInfo.environment["ATOMD_RANDOM_JOBS"] ?? "") ?? 500

    @Test func randomJobsKeepTheTransactionInvariants() async throws {
        let base = UInt64(ProcessInfo.processInfo.environment["ATOMD_SEED"] ?? "") ?? UInt64.random(in: 1...UInt64.max / 2)
        var outcomes: [RunStatus: Int] = [:]
        for offset in 0..<UInt64(Self.jobs) {
            let seed = base &+ offset
            var generator = JobGenerator(seed: seed)
            let text = generator.job()
            let status = try await check(text, presets: generator.presets, seed: seed)
            if let status { outcomes[status, default: 0] += 1 }
            // One broken case is enough to read; the rest would repeat it.
            guard status != nil else { break }
        }
        // Both outcomes must be exercised, or the test proves little (a
        // replay of one seed is exempt).
        if Self.jobs >= 100 {
            #expect((outcomes[.succeeded] ?? 0) > Self.jobs / 10, "outcomes: \(outcomes)")
            #expect((outcomes[.reverted] ?? 0) > Self.jobs / 10, "outcomes: \(outcomes)")
        }
    }

    /// The run's status; nil when it is one the job cannot legitimately end in.
    private func check(_ text: String, presets: Set<String>, seed: UInt64) async throws -> RunStatus? {
        let job = try JobLoader.load(bytes: Array(text.utf8), file: "random-\(seed).yaml")
        var harness = Harness()
        harness.extraAtoms = [NoCheckWorldAtom(world: harness.world)]
        for flag in presets { harness.world.preset(flag) }
        let report = try await harness.engine().start(RunRequest(job: job)).wait()
        let context = "seed \(seed) (replay with ATOMD_SEED=\(seed) ATOMD_RANDOM_JOBS=1):\n\(text)"
        let log = harness.world.log
        let steps = Dictionary(uniqueKeysWithValues: job.allSteps.map { ($0.id, $0) })
        let index = StepIndex(job)

        // A run ends revert_failed only when a revert was made to fail.
        let failingReverts = job.allSteps.filter { step in
            guard case .plugin(let plugin) = step.action, case .object(let with) = plugin.with else { return false }
            return with["revert_fails"] == .bool(true)
        }.map(\.id)
        let allowed: Set<RunStatus> = failingReverts.isEmpty ? [.succeeded, .reverted] : [.succeeded, .reverted, .revertFailed]
        #expect(allowed.contains(report.status), "status \(report.status); \(context)")

        // Every event stream follows the state machines.
        for step in job.allSteps {
            var current = StepStatus.pending
            for next in harness.log.states(of: step.id) {
                #expect(current.canMove(to: next), "\(step.id): \(current) -> \(next); \(context)")
                current = next
            }
        }

        // A revert only for a step whose execute was called: a failed step
        // without a check is reverted (reverts tolerate "never happened"),
        // a step that never started is not.
        let executed = Set(report.steps.filter { $0.attempts > 0 }.map(\.id))
        for case .clear(let flag, let path) in log {
            #expect(executed.contains(Self.stepID(path)), "\(flag) reverted but never executed; \(context)")
        }

        // Nothing that was there before the run is ever destroyed.
        let destroyed = presets.subtracting(harness.world.flags).sorted()
        #expect(destroyed.isEmpty, "destroyed what was there before: \(destroyed); \(context)")

        // What is left in the world.
        let records = Dictionary(uniqueKeysWithValues: report.steps.map { ($0.id, $0) })
        var irreversibleSets: Set<String> = []
        for case .set(let flag, let path) in log where steps[Self.stepID(path)]?.revert == .irreversible {
            irreversibleSets.insert(flag)
        }
        switch report.status {
        case .reverted:
            #expect(harness.world.flags == presets.union(irreversibleSets), "left behind after compensation; \(context)")
        case .revertFailed:
            // What is left was made by a step compensation did not undo,
            // and the summary does not claim otherwise.
            for case .set(let flag, let path) in log where harness.world.isSet(flag) && !presets.contains(flag) {
                let record = records[Self.stepID(path)]
                #expect(record?.status != .reverted && record?.effect != .undone,
                        "\(flag) is left, but its step says \(record?.status.rawValue ?? "nothing"); \(context)")
            }
        default:
            for record in report.steps where steps[record.id]?.group == nil {
                // An ignored step made its change only if it failed after making it.
                let failedAfterSetting: Bool = {
                    guard case .plugin(let plugin)? = steps[record.id]?.action, case .object(let with) = plugin.with,
                          case .string(let mode)? = with["fail"] else { return false }
                    return mode.literalText == "after"
                }()
                let shouldBePresent = record.status == .succeeded || (record.status == .skipped && presets.contains(record.id))
                    || (record.status == .ignored && failedAfterSetting)
                if shouldBePresent {
                    // Inside a for_each group the flag carries the item of the attempt that succeeded.
                    let item = record.retryContext?["retry"]["item"]
                    let flag = item.map { $0 == .null ? record.id : "\(record.id)-\($0.interpolated)" } ?? record.id
                    #expect(harness.world.isSet(flag), "\(flag) (\(record.status)) missing after success; \(context)")
                }
            }
        }

        // Reverts run dependents first: if B needed A to finish, B's last revert comes before A's.
        var lastClear: [String: Int] = [:]
        for (position, operation) in log.enumerated() {
            if case .clear(let flag, _) = operation { lastClear[flag] = position }
        }
        for (a, aPosition) in lastClear {
            for (b, bPosition) in lastClear where a != b && index.hasFinished(a, before: b) {
                #expect(bPosition < aPosition, "\(a) was reverted before \(b), which depended on it; \(context)")
            }
        }
        return allowed.contains(report.status) ? report.status : nil
    }

    /// `g/s3` → `s3`: the world logs step paths.
    static func stepID(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}

/// A seeded generator of job files.
struct JobGenerator {
    private var random: SeededGenerator
    private var counter = 0
    /// Flags set before the run: effects already in the world, which the run
    /// must leave as found whatever happens (converge steps skip them; other
    /// steps with a check find them in their before probe).
    private(set) var presets: Set<String> = []
    /// Also for_each groups, checks that cannot tell and failing reverts,
    /// which the crash tests' simpler expectations do not model.
    private let wide: Bool

    init(seed: UInt64, wide: Bool = true) {
        random = SeededGenerator(seed: seed)
        self.wide = wide
    }

    private mutating func next() -> UInt64 { random.next() }

    private mutating func chance(_ percent: UInt64) -> Bool { next() % 100 < percent }
    private mutating func number(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }

    mutating func job() -> String {
        "version: 1\nname: random\nsteps:\n" + steps(count: number(1...5), depth: 0, indent: 2, mode: .sequence, items: false)
    }

    /// `items`: the innermost retrying group around these steps is a
    /// `for_each`: their flags carry `${{ retry.item }}`, and some fail only
    /// for the first item, so that a revert with the wrong item leaves a flag.
    private mutating func steps(count: Int, depth: Int, indent: Int, mode: Group.Mode, items: Bool) -> String {
        var ids: [String] = []
        var text = ""
        for _ in 0..<count {
            counter += 1
            let id = "s\(counter)"
            let pad = String(repeating: " ", count: indent)
            var lines = ["\(pad)- id: \(id)"]
            if mode == .graph, !ids.isEmpty, chance(60) {
                let needs = ids.filter { _ in chance(40) }
                if !needs.isEmpty { lines.append("\(pad)  needs: [\(needs.joined(separator: ", "))]") }
            }
            if depth < 3, chance(25) {
                let modes: [Group.Mode] = [.sequence, .parallel, .graph]
                let childMode = modes[number(0...2)]
                var childItems = items
                if chance(15) {
                    let forEach = wide && chance(50)
                    lines.append("\(pad)  retry: " + (forEach ? "{ for_each: [a, b] }" : "{ times: 2 }"))
                    childItems = forEach
                }
                lines.append("\(pad)  group:")
                lines.append("\(pad)    mode: \(childMode.rawValue)")
                if childMode != .sequence, chance(30) { lines.append("\(pad)    max_parallel: \(number(1...3))") }
                lines.append("\(pad)    steps:")
                text += lines.joined(separator: "\n") + "\n"
                text += steps(count: number(1...4), depth: depth + 1, indent: indent + 6, mode: childMode, items: childItems)
            } else {
                lines.append("\(pad)  uses: \(chance(20) ? "test.world-nocheck" : "test.world")")
                var with = [items ? "flag: \"\(id)-${{ retry.item }}\"" : "flag: \(id)"]
                if chance(6) {
                    let mode = chance(50) ? "before" : "after"
                    with.append(items && chance(50) ? "fail: \"${{ retry.item == 'a' && '\(mode)' || 'no' }}\"" : "fail: \(mode)")
                }
                if wide, chance(3) { with.append("revert_fails: true") }
                if chance(10) {
                    lines.append("\(pad)  revert: none")
                } else if items, chance(50) {
                    // Written out, so the revert evaluates the attempt's item itself.
                    lines.append("\(pad)  revert: { uses: test.world, with: { flag: \"\(id)-${{ retry.item }}\", clear: true } }")
                }
                let hasCheck = !lines.contains(where: { $0.contains("nocheck") })
                // A preset flag is a step's own effect already there; a check
                // that cannot tell would make it look possibly the run's.
                if chance(10), hasCheck, !items {
                    lines.append("\(pad)  converge: true")
                    if chance(50) { presets.insert(id) }
                } else if chance(8), hasCheck, !items {
                    presets.insert(id)
                } else if wide, chance(6), hasCheck {
                    with.append("check_unknown: true")
                }
                if chance(5) { lines.append("\(pad)  continue_on_error: true") }
                lines.append("\(pad)  with: { \(with.joined(separator: ", ")) }")
                text += lines.joined(separator: "\n") + "\n"
            }
            ids.append(id)
        }
        return text
    }
}

/// `test.world` without a check: failed steps are always reverted.
struct NoCheckWorldAtom: Atom {
    let name = "test.world-nocheck"
    let capabilities: AtomCapabilities = [.revert]
    let inner: WorldAtom

    init(world: TestWorld) {
        inner = WorldAtom(world: world)
    }

    func execute(_ input: JSONValue, context: AtomContext) async throws -> AtomResult {
        try await inner.execute(input, context: context)
    }

    func revert(_ input: JSONValue, outputs: JSONValue?, context: AtomContext) async throws {
        try await inner.revert(input, outputs: outputs, context: context)
    }
}
