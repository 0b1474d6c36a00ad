import AtomdEngine
import AtomdJournal
import AtomdJournalPostgres
import AtomdPlugins
import AtomdShell
import AtomdSpec
import Foundation
import Logging

/// The daemon: recovers what a restart cut short, claims job files from the
/// spool in order of arrival, runs up to `max_runs` at once, and files each
/// job in done/ or failed/ when its run has ended. `stop` stops claiming and
/// lets running runs finish within the stop timeout; the journal keeps the
/// rest for the next start.
public actor Agent {
    public private(set) var settings: AgentSettings
    let spool: Spool
    public let journal: any JournalStore
    /// The home, held for the agent's life: no second agent or `atomd run` takes its runs.
    let ownership: HomeOwnership
    let log: Logger
    let notifier: SystemdNotifier
    var queue: RunQueue
    var live: [String: LiveRun] = [:]
    var catalog: PluginCatalog
    let locks: VisibleLocks
    var accepting = true
    var pumping = false
    /// A second signal asked for the stop not to wait any more.
    var hurried = false
    /// Runs left running by `stop`: the next start resumes them.
    var abandoned: Set<String> = []
    /// Runs parked by ResumeGuard: open in the journal, left in processing/,
    /// not resumed until an operator asks (`atomd resume`).
    var parked: Set<String> = []
    /// Parked runs an operator released, until they are live again: true
    /// when the operator cancelled it (it is then compensated), false when
    /// it resumes.
    var unparking: [String: Bool] = [:]
    /// Claimed jobs that could not start for a passing reason (the journal
    /// or descriptors): still in processing/, queued again by `retryLater`.
    var deferred: [RunQueue.Entry] = []
    var retryScheduled = false
    /// Job files in incoming/ whose claim failed are claimed again after
    /// this delay, doubled at each failure up to a minute; nil once a pass
    /// over incoming/ claims everything.
    var claimRetryDelay: Duration?
    var claimRetryScheduled = false
    /// Claims that failed since the agent started.
    var claimFailures = 0
    var watcher: SpoolWatcher?
    let started = ContinuousClock.now
    public nonisolated let metrics = AgentMetrics()
    let events = EventBroadcast()
    /// The web console's address and sessions; nil without `api.listen`.
    public nonisolated let console: Console?
    /// When each waiting file was claimed, for the queue-wait histogram.
    var claimedAt: [String: ContinuousClock.Instant] = [:]

    /// Creates the spool and log directories and opens the journal, which
    /// it owns alone until `close`.
    public init(settings: AgentSettings, log: Logger, notifier: SystemdNotifier = SystemdNotifier()) async throws(AgentError) {
        self.settings = settings
        self.log = log
        self.notifier = notifier
        // Before anything opens a descriptor: see DescriptorBudget.
        let descriptors = DescriptorBudget.raiseSoftLimit()
        log.info("file descriptors: up to \(descriptors.after)\(descriptors.after != descriptors.before ? " (raised from \(descriptors.before))" : ""), \(DescriptorBudget.reserve) kept for steps and reverts")
        spool = Spool(layout: settings.spool) { [log] error in
            log.error("spool: \(error); the move stands, but a power loss may undo it")
        }
        queue = RunQueue(limit: settings.maxRuns)
        catalog = PluginCatalog(settings: settings.plugins)
        locks = VisibleLocks(log: log)
        console = settings.listen.map { Console(endpoint: ConsoleEndpoint(address: $0, tls: settings.consoleTLS)) }
        do {
            try TrustedDirectory.create(settings.home)
            try TrustedDirectory.check(settings.home)
            try settings.spool.create()
            try settings.spool.checkTrusted()
            try FileManager.default.createDirectory(atPath: settings.logs, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            try TrustedDirectory.check(settings.logs)
            try RunLogs.checkOnlyRuns(in: settings.logs)
            for directory in settings.plugins.directories where FileManager.default.fileExists(atPath: directory) {
                try TrustedDirectory.check(directory)
            }
            ownership = try HomeOwnership.claim(home: settings.home, as: .agent)
            let crashHook = try CrashHook.fromEnvironment(ProcessInfo.processInfo.environment)
            if let postgres = settings.postgres {
                var journalSettings = PostgresSettings(postgres)
                journalSettings.applicationName = "atomd agent, pid \(getpid()) on \(ProcessInfo.processInfo.hostName)"
                let opened = try await PostgresJournal.open(journalSettings, logger: log, crashHook: crashHook)
                do {
                    try await opened.claim(as: .agent)
                } catch {
                    await opened.close()
                    throw error
                }
                journal = opened
                log.info("journal: \(opened.location)")
            } else {
                journal = try DurableJournal(path: settings.home + "/journal.sqlite", durability: settings.durability, crashHook: crashHook)
            }
        } catch {
            throw AgentError("cannot start: \(error)")
        }
    }

    /// Runs until `stop`: first the runs a restart cut short, then the jobs
    /// waiting in incoming/, then each job as it arrives.
    public func run() async throws(AgentError) {
        try await recover()
        let watcher: SpoolWatcher
        do {
            // Watch before scanning: a file that arrives during the scan is
            // seen by one or the other (claiming it twice is harmless).
            watcher = try SpoolWatcher(directory: settings.spool.incoming)
        } catch {
            throw AgentError("cannot watch the spool: \(error)")
        }
        self.watcher = watcher
        // A SIGTERM during recovery: nothing new is claimed.
        guard accepting else { return }
        claimWaiting()
        notifier.notify("READY=1")
        log.info("step containment: \(Containment.detected)")
        log.info("ready: watching \(settings.spool.incoming), up to \(settings.maxRuns) runs at once, control socket \(settings.socket)")
        startWatchdog()
        startRetention()
        await pump()
        for await event in watcher.events {
            switch event {
            case .arrived(let name): claim(name)
            case .created(let name):
                // Only a hard link is complete when created; it is refused.
                if spool.isHardLink(name) { claim(name) }
            case .rescan:
                log.warning("the spool's event queue overflowed; scanning incoming/ again")
                claimWaiting()
            }
            await pump()
        }
    }

    /// Stops claiming, holds live runs at their next step boundary and waits
    /// up to the stop timeout for the steps, reverts, checks and state
    /// probes still running; what runs after that is cut off, its processes
    /// stopped, and the process may exit then. Runs are not cancelled: the
    /// journal has them and the next start resumes them. Jobs claimed but
    /// not started stay in processing/ and start then.
    public func stop() async {
        guard accepting else { return }
        accepting = false
        watcher?.stop()
        notifier.notify("STOPPING=1")
        // Live runs stop at their next step boundary: a step running now
        // finishes and is journaled; none starts after it.
        for run in live.values { await run.handle.hold() }
        log.notice("stopping: \(live.count) running, \(queue.count) claimed and waiting; waiting up to \(settings.stopTimeout) for running runs")
        let deadline = ContinuousClock.now + settings.stopTimeout
        while !live.isEmpty, ContinuousClock.now < deadline, !hurried, !(await allIdle()) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        // The journal has every transition, and the next start resumes
        // each run (steps in doubt are settled by their checks). What still
        // runs is cut off: its calls are cancelled, which stops a shell
        // step's processes (SIGTERM to its group, SIGKILL after its
        // kill_grace, then leftovers carrying its token and its cgroup), so
        // that none outlives the agent. Nothing more is journaled for such
        // a run: its step stays running (or reverting), which is how the
        // next start knows the attempt was interrupted.
        var cut: [LiveRun] = []
        for run in live.values {
            abandoned.insert(run.runID)
            let idle = await run.handle.isIdle()
            log.notice("run \(run.runID) (\(run.file)) \(idle ? "stopped at a step boundary" : "did not finish in time"); it resumes at the next start")
            if !idle { cut.append(run) }
        }
        if !cut.isEmpty { log.notice("stopping what \(cut.count) run(s) still run, so that it does not outlive the agent") }
        for run in cut { await run.handle.abort() }
        // A run that ended has left `live` (see `ended`).
        let cutDeadline = ContinuousClock.now + Self.cutLimit
        while cut.contains(where: { live[$0.runID] != nil }), ContinuousClock.now < cutDeadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if cut.contains(where: { live[$0.runID] != nil }) {
            log.warning("a step cut off by the stop did not end within \(Self.cutLimit); its processes may outlive the agent")
        }
        // Plugin hosts serving runs left running see their pipes close when
        // this process exits, and end; killing them now would fail steps.
        if live.isEmpty { catalog.shutDown() }
        // Open event streams end, so that the servers can finish their responses.
        events.finishAll()
        log.notice("stopped")
    }

    /// A second SIGTERM or SIGINT: the stop timeout ends now. What runs is
    /// cut off as when it runs out, so that no step's process outlives the
    /// agent. False when the stop had already been hurried (a third
    /// signal): the caller exits at once.
    public func hurry() -> Bool {
        guard !hurried else { return false }
        hurried = true
        return true
    }

    /// How long cut-off runs get to stop their calls: more than a shell
    /// step's default kill_grace (10s), well within systemd's
    /// TimeoutStopSec (90s) after the default stop timeout (60s).
    static let cutLimit: Duration = .seconds(20)

    private func allIdle() async -> Bool {
        for run in live.values where !(await run.handle.isIdle()) { return false }
        return true
    }

    /// Applies a changed configuration (SIGHUP): limits, access and plugins
    /// at once; a new plugin catalog serves runs that start from now on.
    public func reload(_ next: AgentSettings) {
        for (name, changed) in [("agent.spool", next.spool != settings.spool), ("agent.logs", next.logs != settings.logs),
                                ("api.socket", next.socket != settings.socket), ("api.listen", next.listen != settings.listen), ("api.tls", next.consoleTLS != settings.consoleTLS),
                                ("agent.journal_sync", next.durability != settings.durability),
                                ("journal", next.postgres != settings.postgres)] where changed {
            log.warning("reload: \(name) changes at the next start, not now")
        }
        var applied = next
        applied.spool = settings.spool
        applied.logs = settings.logs
        applied.socket = settings.socket
        applied.listen = settings.listen
        applied.consoleTLS = settings.consoleTLS
        applied.durability = settings.durability
        applied.postgres = settings.postgres
        if applied.publicRead != settings.publicRead || applied.group != settings.group {
            if let group = applied.group { chown(applied.socket, uid_t.max, group) }
            chmod(applied.socket, applied.publicRead ? 0o666 : 0o660)
        }
        settings = applied
        queue.limit = applied.maxRuns
        let previous = catalog
        catalog = PluginCatalog(settings: applied.plugins)
        if !live.values.contains(where: { $0.catalog === previous }) { previous.shutDown() }
        log.notice("reloaded the configuration: up to \(applied.maxRuns) runs at once; plugins are looked up again")
        Task { await pump() }
    }

    func updateStatus() {
        notifier.notify("STATUS=\(live.count) running, \(queue.count) queued")
    }

    /// WATCHDOG=1 from a task that needs the actor: a stuck agent stops
    /// sending it, and systemd restarts it.
    private func startWatchdog() {
        guard let interval = notifier.watchdogInterval else { return }
        Task { [weak self] in
            while let self, await self.accepting {
                self.notifier.notify("WATCHDOG=1")
                try? await Task.sleep(for: interval)
            }
        }
    }
}
