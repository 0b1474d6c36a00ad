import Foundation
import Testing

// The language of RollbackCaseTableTests' rows, and the runner that plays a
// row against a real `atomd agent`. A row is a job, a list of steering
// commands and waits, the ledger its steps must have written, and the run's
// final status (bamboo-pipeline's rollback tests, as one table).
//
// Every step of a case's job appends to the file LEDGER: `exec ID` when its
// execute runs, `revert ID` when its revert runs, `fail ID` or
// `revert-failed ID` when the table makes it fail. A step held by the table
// waits for a gate file that a `.release` command creates.

/// One step (or group) of a case's job.
struct CaseStep: Sendable {
    enum Revert: Sendable {
        /// `revert ID` in the ledger.
        case logs
        /// Waits for `.releaseRevert(ID)`, then logs.
        case held
        /// Fails (`revert-failed ID`) until `.fixRevert(ID)`, then logs.
        case broken
    }

    struct Group: Sendable {
        var mode: String
        var steps: [CaseStep]
    }

    var id: String
    /// The execute attempts that wait for `.release(ID, attempt: N)`.
    var hold: [Int] = []
    /// The execute fails (`fail ID`) until `.fix(ID)`.
    var fails = false
    var revert = Revert.logs
    var needs: [String] = []
    var group: Group?

    static func step(_ id: String) -> CaseStep { CaseStep(id: id) }
    /// Its first execute waits for `.release(ID)`.
    static func held(_ id: String, attempts: [Int] = [1]) -> CaseStep { CaseStep(id: id, hold: attempts) }
    static func failing(_ id: String) -> CaseStep { CaseStep(id: id, fails: true) }
    static func sequence(_ id: String, _ steps: [CaseStep]) -> CaseStep { CaseStep(id: id, group: Group(mode: "sequence", steps: steps)) }
    static func parallel(_ id: String, _ steps: [CaseStep]) -> CaseStep { CaseStep(id: id, group: Group(mode: "parallel", steps: steps)) }
    static func graph(_ id: String, _ steps: [CaseStep]) -> CaseStep { CaseStep(id: id, group: Group(mode: "graph", steps: steps)) }

    func needs(_ ids: String...) -> CaseStep { with { $0.needs = ids } }
    func failing() -> CaseStep { with { $0.fails = true } }
    func revert(_ kind: Revert) -> CaseStep { with { $0.revert = kind } }

    private func with(_ change: (inout CaseStep) -> Void) -> CaseStep {
        var copy = self
        change(&copy)
        return copy
    }

    /// The step as YAML lines, indented by `indent` spaces.
    func yaml(ledger: String, gates: String, indent: Int) -> [String] {
        let pad = String(repeating: " ", count: indent)
        if let group {
            return ["\(pad)- id: \(id)", "\(pad)  group:", "\(pad)    mode: \(group.mode)", "\(pad)    steps:"]
                + group.steps.flatMap { $0.yaml(ledger: ledger, gates: gates, indent: indent + 6) }
        }
        var run = ""
        if !hold.isEmpty {
            let held = hold.map { #"[ "${{ step.attempt }}" = \#($0) ]"# }.joined(separator: " || ")
            run += #"if \#(held); then while [ ! -e \#(gates)/\#(id).${{ step.attempt }} ]; do sleep 0.02; done; fi; "#
        }
        run += fails ? "if [ -e \(gates)/fix-\(id) ]; then echo exec \(id) >> \(ledger); else echo fail \(id) >> \(ledger); exit 1; fi"
                     : "echo exec \(id) >> \(ledger)"
        let revert = switch self.revert {
        case .logs: "echo revert \(id) >> \(ledger)"
        case .held: "while [ ! -e \(gates)/revert-\(id) ]; do sleep 0.02; done; echo revert \(id) >> \(ledger)"
        case .broken: "if [ -e \(gates)/revert-ok-\(id) ]; then echo revert \(id) >> \(ledger); "
            + "else echo revert-failed \(id) >> \(ledger); exit 1; fi"
        }
        let needs = self.needs.isEmpty ? "" : "needs: [\(self.needs.joined(separator: ", "))], "
        return ["\(pad)- { id: \(id), \(needs)run: '\(run)', revert: '\(revert)' }"]
    }
}

/// A case's job: its main steps, `finally` steps and failure policy.
struct CaseJob: Sendable {
    var onFailure = "pause"
    var autoResume = false
    var steps: [CaseStep]
    var finally: [CaseStep] = []

    /// `on_failure: pause`: a failed step waits for the operator.
    static func pause(_ steps: [CaseStep], finally: [CaseStep] = [], autoResume: Bool = false) -> CaseJob {
        CaseJob(autoResume: autoResume, steps: steps, finally: finally)
    }

    /// `on_failure: revert`: a failed step compensates the run.
    static func revert(_ steps: [CaseStep]) -> CaseJob {
        CaseJob(onFailure: "revert", steps: steps)
    }

    func yaml(name: String, ledger: String, gates: String) -> String {
        var lines = ["version: 1", "name: \(name)", "on_failure: \(onFailure)"]
        if autoResume { lines.append("rollback: { auto_resume: true }") }
        lines.append("steps:")
        lines += steps.flatMap { $0.yaml(ledger: ledger, gates: gates, indent: 2) }
        if !finally.isEmpty {
            lines.append("finally:")
            lines += finally.flatMap { $0.yaml(ledger: ledger, gates: gates, indent: 2) }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// One thing the table does, or waits for, in order.
enum Steer: Sendable {
    /// An atomd command (`RUN` is replaced by the run's id) that must succeed.
    case ok(String)
    /// An atomd command that must be refused: exit 2, and the message names
    /// `rule` (`[rule: NAME]`) and contains `says`.
    case refusal(String, rule: String?, says: String?)
    /// Lets a held execute attempt go on.
    case release(String, attempt: Int)
    /// The failing step succeeds from now on.
    case fix(String)
    /// Lets a held revert go on.
    case releaseRevert(String)
    /// The broken revert works from now on.
    case fixRevert(String)
    /// Waits until the step has this status.
    case step(String, is: String)
    /// Waits until the run has this status.
    case run(is: String)
    /// Waits until the step waits for the operator's decision (`on_failure: pause`).
    case waiting(for: String)
    /// Waits until a rollback to the step has been carried out (its
    /// `rolled back to` note), once more than the table waited for before.
    case rolledBack(to: String)
    /// Waits until the run has ended and its job file is filed (again, after
    /// a `rollback RUN --retry` reopened it).
    case ended
    /// `atomd rollback RUN --targets OPTIONS`: exactly these steps are allowed, in run order.
    case targets([String], options: String)
    /// The `submit --wait` follower (a case with `follow: true`) stops (SIGSTOP) or goes on (SIGCONT).
    case stopFollower
    case continueFollower
    /// Waits until the follower, still following, has printed this.
    case followerSays(String)

    static func refused(_ command: String, rule: String) -> Steer { .refusal(command, rule: rule, says: nil) }
    static func refused(_ command: String, says: String) -> Steer { .refusal(command, rule: nil, says: says) }
    static func refused(_ command: String, rule: String, says: String) -> Steer { .refusal(command, rule: rule, says: says) }
    static func release(_ step: String) -> Steer { .release(step, attempt: 1) }
    static func targets(_ allowed: [String]) -> Steer { .targets(allowed, options: "") }
}

/// A line of the expected ledger, or lines written in any order (parallel
/// branches).
enum LedgerEntry: Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    case line(String)
    case unordered([String])

    init(stringLiteral value: String) { self = .line(value) }

    static func anyOrder(_ lines: String...) -> LedgerEntry { .unordered(lines) }

    var description: String {
        switch self {
        case .line(let line): line
        case .unordered(let lines): "{" + lines.joined(separator: ", ") + "}"
        }
    }

    /// Whether `actual` is exactly `expected`, unordered blocks in any order.
    static func matches(_ expected: [LedgerEntry], _ actual: [String]) -> Bool {
        var rest = actual[...]
        for entry in expected {
            switch entry {
            case .line(let line):
                guard rest.first == line else { return false }
                rest = rest.dropFirst()
            case .unordered(let lines):
                guard rest.count >= lines.count, rest.prefix(lines.count).sorted() == lines.sorted() else { return false }
                rest = rest.dropFirst(lines.count)
            }
        }
        return rest.isEmpty
    }
}

/// One row of the table.
struct RollbackCase: Sendable, CustomTestStringConvertible {
    var name: String
    var job: CaseJob
    var steer: [Steer]
    var ledger: [LedgerEntry]
    /// The run's status at the end; an ended status is waited for (the job filed).
    var status: String
    /// The run is submitted with `atomd submit --wait`, whose exit code and
    /// last line must then say the final status.
    var follow = false

    init(_ name: String, job: CaseJob, steer: [Steer], ledger: [LedgerEntry], status: String, follow: Bool = false) {
        self.name = name
        self.job = job
        self.steer = steer
        self.ledger = ledger
        self.status = status
        self.follow = follow
    }

    var testDescription: String { name }
}

/// Plays rows against real agents, a few at a time: each case has an agent
/// of its own on a fresh home.
enum RollbackCaseRunner {
    static let endedStatuses: Set<String> = ["succeeded", "reverted", "revert_failed", "failed", "cancelled"]
    static let exitCodes: [String: Int32] = ["succeeded": 0, "reverted": 1, "cancelled": 1, "revert_failed": 3, "failed": 3]
    /// How long one wait may take before the case fails.
    static let waitLimit: Duration = .seconds(30)
    /// Cases played at once: each keeps an agent, its steps and the CLI busy.
    static let slots = CaseSlots(3)

    static func play(_ row: RollbackCase) async throws {
        await slots.acquire()
        do {
            try await playAlone(row)
        } catch {
            await slots.release()
            throw error
        }
        await slots.release()
    }

    private static func playAlone(_ row: RollbackCase) async throws {
        let agent = try AgentProcess.start()
        defer {
            _ = agent.stop()
            try? FileManager.default.removeItem(atPath: agent.home)
        }
        try await agent.waitForLog("ready:")
        var play = try Play(row: row, agent: agent)
        // A row that failed half-way leaves no step waiting and no follower stopped.
        defer { play.cleanUp() }
        try await play.start()
        for (index, steer) in row.steer.enumerated() {
            play.position = "step \(index + 1) of \(row.steer.count) (\(steer))"
            try await play.perform(steer)
        }
        play.position = "the end"
        try await play.finish()
    }
}

/// A fixed number of places; waiting for one does not hold a thread.
actor CaseSlots {
    private var free: Int
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(_ count: Int) { free = count }

    func acquire() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty {
            free += 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}

/// One row being played.
private struct Play {
    let row: RollbackCase
    let agent: AgentProcess
    let ledgerPath: String
    let gates: String
    var runID = ""
    var follower: RunningAtomd?
    /// Where the row is, for failure messages.
    var position = "the start"
    /// `.rolledBack` waits so far, per target.
    var rollbacksSeen: [String: Int] = [:]
    /// The run's events read so far, and the rollbacks they say were carried out.
    var eventsRead = 0
    var rollbacksDone: [String: Int] = [:]
    /// How many times the run has been opened: once, and again at each
    /// `rollback --retry`; each ends with its job file filed.
    var opens = 1

    init(row: RollbackCase, agent: AgentProcess) throws {
        self.row = row
        self.agent = agent
        ledgerPath = agent.home + "/ledger"
        gates = agent.home + "/gates"
        try FileManager.default.createDirectory(atPath: gates, withIntermediateDirectories: false)
    }

    var socket: String { agent.home + "/atomd.sock" }

    var ledger: [String] {
        ((try? String(contentsOfFile: ledgerPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// The row's name and where it is, for every failure.
    var context: String { "[\(row.name)] at \(position); ledger: \(ledger)" }

    mutating func start() async throws {
        let yaml = row.job.yaml(name: "rollback-case", ledger: ledgerPath, gates: gates)
        if row.follow {
            let file = agent.home + "/case.yaml"
            try yaml.write(toFile: file, atomically: true, encoding: .utf8)
            let follower = try AtomdProcess.start(["submit", file, "--wait", "--home", agent.home])
            self.follower = follower
            try await follower.waitForOutput(containing: ": following")
        } else {
            try agent.drop("case.yaml", yaml)
        }
        let deadline = ContinuousClock.now + RollbackCaseRunner.waitLimit
        while true {
            let list = try await get("/runs")
            if let runs = list["runs"] as? [[String: Any]], let id = runs.first?["id"] as? String {
                runID = id
                return
            }
            try #require(ContinuousClock.now < deadline, "the agent made no run: \(list)\n\(agent.log); \(context)")
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    mutating func perform(_ steer: Steer) async throws {
        switch steer {
        case .ok(let command):
            let result = try await atomd(command)
            #expect(result.status == 0, "`atomd \(command)` exited \(result.status): \(result.stderr) \(result.stdout); \(context)")
            if result.status == 0, command.hasPrefix("rollback "), command.contains(" --retry") { opens += 1 }
        case .refusal(let command, let rule, let says):
            let result = try await atomd(command)
            let text = result.stderr + result.stdout
            #expect(result.status == 2, "`atomd \(command)` exited \(result.status), not 2 (refused): \(text); \(context)")
            if let rule { #expect(text.contains("[rule: \(rule)]"), "`atomd \(command)` names no rule \(rule): \(text); \(context)") }
            if let says { #expect(text.contains(says), "`atomd \(command)` does not say '\(says)': \(text); \(context)") }
        case .release(let step, let attempt):
            try touch("\(step).\(attempt)")
        case .fix(let step):
            try touch("fix-\(step)")
        case .releaseRevert(let step):
            try touch("revert-\(step)")
        case .fixRevert(let step):
            try touch("revert-ok-\(step)")
        case .step(let step, let status):
            try await waitForDetail("step \(step) \(status)") { detail in
                Self.steps(detail)[step] == status
            }
        case .run(let status):
            try await waitForDetail("run \(status)") { detail in
                Self.runStatus(detail) == status
            }
        case .waiting(let step):
            try await waitForDetail("step \(step) waiting for a decision") { detail in
                (detail["waiting"] as? [String])?.contains(step) == true
            }
        case .rolledBack(let target):
            let count = rollbacksSeen[target, default: 0] + 1
            rollbacksSeen[target] = count
            try await waitForRollbacks(to: target, count: count)
        case .ended:
            _ = try await agent.waitForFiled(opens, limit: RollbackCaseRunner.waitLimit)
        case .targets(let allowed, let options):
            let result = try await atomd("rollback RUN --targets --json \(options)")
            let list = (try? JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [[String: Any]] ?? []
            let found = list.filter { $0["allowed"] as? Bool == true }.compactMap { $0["step"] as? String }
            #expect(result.status == 0 && found == allowed, "targets \(found), not \(allowed): \(result.stdout) \(result.stderr); \(context)")
        case .stopFollower:
            if let follower { kill(follower.process.processIdentifier, SIGSTOP) }
        case .continueFollower:
            if let follower { kill(follower.process.processIdentifier, SIGCONT) }
        case .followerSays(let text):
            let follower = try #require(follower, "the case has no follower (follow: true); \(context)")
            try await follower.waitForOutput(containing: text, limit: RollbackCaseRunner.waitLimit)
        }
    }

    /// The final status, the ledger, and what the follower said.
    mutating func finish() async throws {
        let ends = RollbackCaseRunner.endedStatuses.contains(row.status)
        if ends { _ = try await agent.waitForFiled(opens, limit: RollbackCaseRunner.waitLimit) }
        let detail = ends ? try await get("/runs/\(runID)") : try await waitForDetailValue("run \(row.status)") { Self.runStatus($0) == row.status }
        let status = Self.runStatus(detail)
        #expect(status == row.status, "the run ended \(status ?? "?"), not \(row.status): \(Self.summary(detail)); \(context)")
        if row.status == "succeeded" {
            let unfinished = Self.steps(detail).filter { !["succeeded", "skipped", "ignored"].contains($0.value) }
            #expect(unfinished.isEmpty, "a succeeded run has steps that did not finish: \(unfinished); \(context)")
        }
        let actual = ledger
        #expect(LedgerEntry.matches(row.ledger, actual),
                "ledger\n  expected \(row.ledger.map(\.description))\n  actual   \(actual)\n\(Self.summary(detail)); [\(row.name)]")
        if let follower {
            kill(follower.process.processIdentifier, SIGCONT)
            let result = try await follower.finish(within: RollbackCaseRunner.waitLimit)
            let code = RollbackCaseRunner.exitCodes[row.status] ?? 4
            #expect(result.status == code && result.stdout.contains("run \(runID) \(row.status) (exit \(code))"),
                    "`submit --wait` exited \(result.status), not \(code): \(result.stdout.suffix(600)); \(context)")
        }
    }

    /// Opens every gate, so that no step or revert waits any more, and
    /// kills the follower if it still runs (the row failed before its end).
    func cleanUp() {
        func open(_ steps: [CaseStep]) {
            for step in steps {
                for attempt in step.hold { _ = FileManager.default.createFile(atPath: gates + "/\(step.id).\(attempt)", contents: nil) }
                if step.revert == .held { _ = FileManager.default.createFile(atPath: gates + "/revert-\(step.id)", contents: nil) }
                open(step.group?.steps ?? [])
            }
        }
        open(row.job.steps + row.job.finally)
        guard let follower, follower.process.isRunning else { return }
        kill(follower.process.processIdentifier, SIGKILL)
        kill(follower.process.processIdentifier, SIGCONT)
        // Killed, so the wait is short enough to hold a thread for.
        follower.process.waitUntilExit()
    }

    // MARK: Helpers

    func touch(_ name: String) throws {
        try #require(FileManager.default.createFile(atPath: gates + "/" + name, contents: nil), "\(context)")
    }

    /// Runs `atomd COMMAND --home HOME`, RUN replaced by the run's id,
    /// without holding a thread while it runs.
    func atomd(_ command: String) async throws -> AtomdProcess.Result {
        let words = command.split(separator: " ").map { $0 == "RUN" ? runID : String($0) }
        return try await AtomdProcess.start(words + ["--home", agent.home]).finish(within: RollbackCaseRunner.waitLimit)
    }

    /// One GET on the agent's socket, through curl; its JSON.
    func get(_ path: String) async throws -> [String: Any] {
        let text = try await curl(path)
        return (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? ["unreadable": text]
    }

    func curl(_ path: String) async throws -> String {
        let output = agent.home + "/curl-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["curl", "-sS", "--max-time", "10", "-o", output, "--unix-socket", socket, "http://atomd" + path]
        process.standardInput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            process.terminationHandler = { _ in done.resume() }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                done.resume()
            }
        }
        return (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
    }

    func waitForDetail(_ what: String, _ done: ([String: Any]) -> Bool) async throws {
        _ = try await waitForDetailValue(what, done)
    }

    /// Asks for the run (`GET /runs/ID`) until `done` says yes; returns it.
    func waitForDetailValue(_ what: String, _ done: ([String: Any]) -> Bool) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + RollbackCaseRunner.waitLimit
        while true {
            let detail = try await get("/runs/\(runID)")
            if done(detail) { return detail }
            try #require(agent.running.process.isRunning, "the agent exited waiting for \(what):\n\(agent.log)\n\(context)")
            try #require(ContinuousClock.now < deadline, "no \(what) within \(RollbackCaseRunner.waitLimit): \(Self.summary(detail)); \(context)")
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Waits until the run's events hold `count` notes saying a rollback to
    /// `target` was carried out. The history is read page by page (`after=`):
    /// a reopened run's history is served up to its first `closed` event.
    mutating func waitForRollbacks(to target: String, count: Int) async throws {
        let deadline = ContinuousClock.now + RollbackCaseRunner.waitLimit
        while true {
            while true {
                let page = try await curl("/runs/\(runID)/events?follow=false&after=\(eventsRead)")
                let events = page.split(separator: "\n").filter { $0.hasPrefix("data: ") }.compactMap { line in
                    (try? JSONSerialization.jsonObject(with: Data(line.dropFirst("data: ".count).utf8))) as? [String: Any]
                }
                let last = events.compactMap { $0["sequence"] as? Int }.max() ?? eventsRead
                guard last > eventsRead else { break }
                eventsRead = last
                for event in events where event["kind"] as? String == "note" {
                    if let step = event["step"] as? String, (event["data"] as? [String: Any])?["rollback_done"] as? Bool == true {
                        rollbacksDone[step, default: 0] += 1
                    }
                }
            }
            if rollbacksDone[target, default: 0] >= count { return }
            if ContinuousClock.now >= deadline {
                let now = Self.summary(try await get("/runs/\(runID)"))
                try #require(Bool(false), "no rollback to \(target) (×\(count)) within \(RollbackCaseRunner.waitLimit): \(now); \(context)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    static func runStatus(_ detail: [String: Any]) -> String? {
        (detail["run"] as? [String: Any])?["status"] as? String
    }

    static func steps(_ detail: [String: Any]) -> [String: String] {
        Dictionary(((detail["steps"] as? [[String: Any]]) ?? []).compactMap { step in
            (step["id"] as? String).map { ($0, step["status"] as? String ?? "") }
        }, uniquingKeysWith: { $1 })
    }

    /// `run STATUS; a succeeded, b pending, ...` in run order.
    static func summary(_ detail: [String: Any]) -> String {
        let steps = ((detail["steps"] as? [[String: Any]]) ?? []).map { "\($0["id"] as? String ?? "?") \($0["status"] as? String ?? "?")" }
        return "run \(runStatus(detail) ?? "?"); " + steps.joined(separator: ", ")
    }
}
