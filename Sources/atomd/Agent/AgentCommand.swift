import ArgumentParser
import AtomdAgent
import AtomdSpec
import Foundation
import Logging

struct AgentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Run the agent: claim job files from the spool, run them, file the results.",
        discussion: """
            Producers drop job files into SPOOL/incoming/ (write NAME.tmp or .NAME, then rename \
            it to NAME.yaml). The agent claims each one by renaming it into processing/, runs it \
            (at most agent.max_runs at once, in order of arrival) and files it in done/, or in \
            failed/ with NAME.error.json beside it (file, line, column, message, run id). Files \
            that are not regular, not owned by root or the agent's user, group- or \
            world-writable, or hard-linked are refused into failed/ unread. No job file is ever \
            deleted or run twice, also across restarts: at start the agent first resumes the \
            runs that a restart cut short, then claims what waits.

            Everything lives under --home unless the configuration says otherwise: \
            HOME/journal.sqlite, HOME/spool/, HOME/logs/, HOME/atomd.sock. The default home \
            ./.atomd needs no set-up. Configuration: --config FILE, else HOME/atomd.yaml when it \
            exists (see etc/atomd.yaml for every key and its default).

            Signals: SIGTERM (systemctl stop) and SIGINT stop claiming and give running runs \
            (and the reverts, checks and state probes running now) agent.stop_timeout to finish and be \
            journaled; what still runs then is resumed at the next start. \
            When it runs out, what still runs is stopped (SIGTERM, then SIGKILL after kill_grace) \
            before the agent exits. A second SIGTERM or SIGINT ends the wait at once, leaving \
            running runs to the next start; a third exits without waiting for steps to stop. SIGHUP (systemctl reload) reads the configuration again and looks up plugins anew. \
            Under systemd (Type=notify) the agent reports READY, STATUS, STOPPING and, when \
            WatchdogSec is set, WATCHDOG; log lines carry journald priorities.

            Exit codes: 0 stopped cleanly; 2 invalid configuration; 4 the spool or the journal \
            cannot be used.
            """
    )

    @Option(help: ArgumentHelp("The agent's home: journal, spool, logs and socket unless the configuration moves them.",
                               valueName: "dir"))
    var home = "./.atomd"

    @OptionGroup var configOptions: ConfigOptions

    func run() async throws {
        let settings = try Self.settings(configOptions, home: home)
        LoggingSystem.bootstrap { _ in StderrLogHandler() }
        let log = Logger(label: "atomd")
        let agent: Agent
        do {
            agent = try await Agent(settings: settings, log: log)
        } catch {
            log.critical("\(error)")
            throw AtomdExit.unavailable.code
        }
        agent.metrics.bootstrapMetricsSystem()
        let services: AgentServices
        do {
            services = try await AgentServices(agent: agent, log: log)
        } catch {
            log.critical("\(error)")
            throw AtomdExit.unavailable.code
        }
        let signals: SignalInbox
        do {
            signals = try SignalInbox([SIGTERM, SIGINT, SIGHUP])
        } catch {
            log.critical("cannot handle signals: \(error)")
            throw AtomdExit.unavailable.code
        }
        let stopped = Task {
            var stopping = false
            for await signal in signals.signals {
                if signal == SIGHUP {
                    do {
                        await agent.reload(try Self.settings(configOptions, home: home))
                    } catch {
                        log.error("reload refused; the configuration in use stays: see the error above")
                    }
                } else if !stopping {
                    stopping = true
                    // The agent stops first, then the servers; signals go
                    // on being read meanwhile.
                    await services.shutDown()
                } else if await agent.hurry() {
                    // A second SIGTERM or Ctrl-C: stop now, as the stop
                    // timeout would (what runs is stopped, not left behind);
                    // the journal has every run.
                    log.notice("stopping at once: running steps are stopped; runs resume at the next start")
                } else {
                    // A third: exit without waiting for steps to stop.
                    log.notice("exiting at once: steps still stopping may outlive the agent")
                    Foundation.exit(0)
                }
            }
        }
        do {
            try await services.run()
        } catch {
            log.critical("\(error)")
            signals.stop()
            throw AtomdExit.unavailable.code
        }
        signals.stop()
        await stopped.value
    }

    /// Exits 2 on an invalid configuration (at start); on reload the error
    /// is printed and thrown.
    static func settings(_ options: ConfigOptions, home: String) throws -> AgentSettings {
        do {
            return try AgentSettings(try options.load(home: home), home: home)
        } catch let error as AgentError {
            Output.error("error: \(error)")
            throw AtomdExit.usage.code
        }
    }
}
