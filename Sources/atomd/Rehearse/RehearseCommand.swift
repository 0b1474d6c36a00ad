import ArgumentParser
import AtomdAgent
import AtomdEngine
import AtomdJournal
import AtomdPlugins
import AtomdSpec
import Foundation
import Synchronization

struct RehearseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rehearse",
        abstract: "Prove that a job's compensation works: fail it on purpose at every step.",
        discussion: """
            For each step in run order (inside groups and branches too), the job runs twice with \
            a failure injected at that step: once after its execute succeeded (its effect is in \
            the world and its own revert must remove it), once in place of its execute. \
            Compensation runs as it would in production; then every step that ran is probed \
            again, its check and its state probe, and compared with what the same probes found \
            just before the step first ran. A check that still finds the effect, or a state that \
            differs ("current: releases/2.0 → releases/1.0"), is left behind.

            Rehearsals make real changes on whatever the job targets: point its variables at a \
            staging target. atomd rehearse refuses to start unless the job says \
            `rehearse: allowed` or the command line says --yes. Before anything runs it warns \
            about what it cannot prove (also `atomd validate --strict`): steps with no check or \
            state probe, steps with no revert that are not `revert: none`, reverts that read \
            outputs a failed execute may not have produced. With --crash, whose crashes fall \
            between journal writes and never inside a step's script, it also warns about what a \
            crash there would leave to chance: a run: step whose script ends with a command its \
            check does not look at (its check alone would decide that the step succeeded), and a \
            step with `revert: none` and no check that is not idempotent (a crash during it \
            compensates the whole run).

            Rehearsals stop at the first one that leaves something behind: the next would start \
            from a world that is no longer the one the job found, and take the leftover for how \
            things were. The rest are listed as not run.

            Each rehearsal is a run in the journal, marked as one (`atomd runs` shows \
            "rehearsal: after STEP"); the job's on_failure is revert for all of them.

              atomd rehearse deploy.yaml --var root=/tmp/stage --yes
              atomd rehearse deploy.yaml --only unpack --only switch --json

            Exit codes: 0 every rehearsal left the world as it found it; 2 invalid job or not \
            allowed; 3 at least one rehearsal left something behind; 4 the journal cannot be used.
            """
    )

    @Argument(help: ArgumentHelp("The job file.", valueName: "file"))
    var file: String

    @Option(name: .customLong("var"), help: ArgumentHelp("A declared variable's value (repeatable), as `atomd run --var`.",
                                                         valueName: "name=value"))
    var vars: [String] = []

    @Option(name: .customLong("only"), help: ArgumentHelp("Rehearse failures at this step only (repeatable).", valueName: "step"))
    var only: [String] = []

    @Flag(help: "Rehearse a job that does not say `rehearse: allowed`.")
    var yes = false

    @Flag(help: "Also kill each rehearsal at every journal write and recover it (slow: one run per write).")
    var crash = false

    // One rehearsal in a child process, for --crash: the injection point
    // (WHEN:STEP), its run id, and the crash hook's write or tally file.
    @Option(help: ArgumentHelp(visibility: .private)) var point: String?
    @Option(help: ArgumentHelp(visibility: .private)) var runID: String?
    @Option(help: ArgumentHelp(visibility: .private)) var crashAt: Int?
    @Option(help: ArgumentHelp(visibility: .private)) var tally: String?

    @OptionGroup var homeOptions: HomeOptions

    @OptionGroup var configOptions: ConfigOptions

    @OptionGroup var output: OutputOptions

    func validate() throws {
        _ = try RunCommand.parseVars(vars)
    }

    func run() async throws {
        var (job, text) = try JobFile.loadWithText(file)
        let overrides = try RunCommand.parseVars(vars)
        let secrets: [String: String]
        do {
            secrets = try SecretResolver.resolve(job.secrets)
        } catch {
            Output.error("\(file): error: \(error)")
            throw AtomdExit.usage.code
        }
        let catalog = PluginCatalog(settings: try configOptions.pluginSettings(home: homeOptions.home))
        let registry = try await BuiltinAtoms.registry(home: homeOptions.home, for: job, catalog: catalog)
        let steps = job.mainSteps.filter { $0.group == nil }.map(\.id)
        if let unknown = only.first(where: { !steps.contains($0) }) {
            Output.error("\(file): error: --only \(unknown): the job has no step '\(unknown)' (steps: \(steps.joined(separator: ", ")))")
            throw AtomdExit.usage.code
        }
        if let point {
            return try await rehearseInChild(&job, text: text, vars: overrides, secrets: secrets, point: point, registry: registry)
        }
        let warnings = RehearsalWarnings.of(job, registry: registry) + (crash ? crashWarnings(job, registry: registry) : [])
        for warning in warnings { Output.error(warning.warningDescription) }
        guard job.rehearseAllowed || yes else {
            Output.error("\(file): error: a rehearsal makes real changes on whatever the job targets, and this job does not say "
                         + "`rehearse: allowed`; point its variables at a staging target, then add that line or pass --yes")
            throw AtomdExit.usage.code
        }
        job.onFailure = .revert
        let points = steps.filter { only.isEmpty || only.contains($0) }.flatMap { step in
            InjectedFailure.When.allCases.map { InjectedFailure(step: step, when: $0) }
        }
        let journal = try await homeOptions.journal()
        let ownership = try await homeOptions.claim(journal)
        defer { withExtendedLifetime(ownership) {} }
        let progress = RehearsalProgress(total: points.count, enabled: !output.json && isatty(STDERR_FILENO) == 1)
        var rows: [RehearsalRow] = []
        for (index, point) in points.enumerated() {
            progress.show(index, point)
            var row = try await rehearse(job, text: text, vars: overrides, secrets: secrets, at: point,
                                         registry: registry, journal: journal)
            if crash, row.passed {
                let crashes = RehearsalCrashes(command: self, job: job, secrets: secrets, registry: registry, journal: journal)
                let (points, failure) = try await crashes.check(point)
                row.crash_points = points
                if let failure { row.left_behind.append(failure) }
                if failure != nil { row.status = .revertFailed }
            }
            rows.append(row)
            // What is left behind is part of the next rehearsal's world, and
            // its probes would take it for how things were.
            guard row.passed else { break }
        }
        progress.clear()
        let notRun = points.dropFirst(rows.count).map { RehearsalRow.label($0) }
        let summary = RehearsalSummary(job: job.name, warnings: warnings.map(\.warningDescription), rehearsals: rows,
                                       not_run: notRun, passed: notRun.isEmpty && rows.allSatisfy(\.passed))
        if output.json { try Output.json(summary) } else { summary.printText() }
        if !summary.passed { throw AtomdExit.compensationFailed.code }
    }

    /// `--crash`: what a crash rehearsal cannot show, since its crashes fall
    /// between journal writes, never inside a step's script: checks that
    /// cannot tell a step's success from its first change, and steps in
    /// doubt that nothing can settle.
    private func crashWarnings(_ job: Job, registry: AtomRegistry) -> [Diagnostic] {
        InDoubtWarnings.checksThatCannotTell(job) + InDoubtWarnings.readOnlyNotIdempotent(job) { step in
            step.action.atomName.flatMap { registry[$0]?.capabilities.contains(.check) } ?? false
        }
    }

    /// The hidden child mode of --crash: one rehearsal under the crash
    /// hook, its row printed as one JSON line.
    private func rehearseInChild(_ job: inout Job, text jobText: String, vars: [String: JSONValue], secrets: [String: String],
                                 point: String, registry: AtomRegistry) async throws {
        let parts = point.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, let when = InjectedFailure.When(rawValue: parts[0]), let runID else {
            throw ValidationError("--point takes after:STEP or instead:STEP, with --run-id")
        }
        job.onFailure = .revert
        let journal = try await homeOptions.journal(crashHook: CrashHook(at: crashAt, tally: tally))
        let row = try await rehearse(job, text: jobText, vars: vars, secrets: secrets, at: InjectedFailure(step: parts[1], when: when),
                                     registry: registry, journal: journal, runID: runID)
        try Output.jsonLine(row)
    }

    /// One run with `point` injected, to its end.
    func rehearse(_ job: Job, text: String, vars: [String: JSONValue], secrets: [String: String], at point: InjectedFailure,
                  registry: AtomRegistry, journal: any JournalStore, runID: String = RunID.make()) async throws -> RehearsalRow {
        do {
            try await journal.createRun(NewRun(id: runID, jobName: job.name, jobFile: file, jobText: text, vars: vars,
                                               rehearsal: "\(point.when.rawValue) \(point.step)"))
        } catch {
            Output.error("error: the journal could not record the run: \(error)")
            throw AtomdExit.unavailable.code
        }
        return try await RehearsalRun(registry: registry, journal: journal, point: point).row { engine throws(RunSetupError) in
            try engine.start(RunRequest(job: job, runID: runID, vars: vars, secrets: secrets, injectedFailure: point))
        }
    }
}

/// One rehearsal's run on an engine of its own, whose listener collects the
/// reverts in the order they end, and the row made of its report.
struct RehearsalRun {
    let registry: AtomRegistry
    let journal: any JournalStore
    let point: InjectedFailure

    func row(_ begin: (Engine) throws(RunSetupError) -> RunHandle) async throws -> RehearsalRow {
        let reverted = Mutex<[String]>([])
        let collector = EventCallback { event in
            if event.kind == .step(.reverted), let id = event.stepID { reverted.withLock { $0.append(id) } }
        }
        let started = ContinuousClock.now
        let handle: RunHandle
        do {
            handle = try begin(Engine(registry: registry, journal: journal, listeners: [collector]))
        } catch {
            Output.error("error: \(error)")
            throw AtomdExit.usage.code
        }
        let report = await handle.wait()
        let took = ContinuousClock.now - started
        var leftBehind = report.leftBehind.map { "\($0.step): \($0.text)" }
        for step in report.steps where step.status == .revertFailed {
            leftBehind.append("\(step.id): its revert failed (`atomd show \(report.runID)`)")
        }
        if let error = report.error { leftBehind.append("the run stopped early: \(error)") }
        return RehearsalRow(step: point.step, when: point.when, run_id: report.runID, status: report.status,
                            reverted: reverted.withLock { $0 },
                            seconds: Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18,
                            left_behind: leftBehind,
                            unknown: report.undetermined.map { "\($0.step): \($0.text)" },
                            not_reached: report.steps.first { $0.id == point.step }.map { $0.attempts == 0 } ?? true)
    }
}

/// "rehearsal 3/18: after unpack" on a terminal's stderr, rewritten in place.
private struct RehearsalProgress {
    let total: Int
    let enabled: Bool

    func show(_ index: Int, _ point: InjectedFailure) {
        guard enabled else { return }
        let done = total == 0 ? 0 : index * 20 / total
        let bar = String(repeating: "#", count: done) + String(repeating: ".", count: 20 - done)
        FileHandle.standardError.write(Data("\r\u{1B}[K[\(bar)] \(index + 1)/\(total): failing \(point.when.rawValue) \(point.step)".utf8))
    }

    func clear() {
        if enabled { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
