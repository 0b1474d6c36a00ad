import AtomdJournal
import Logging
import ServiceLifecycle

/// The agent's services in one ServiceGroup: the control socket, the web
/// console (with `api.listen`) and the agent itself, which claims nothing
/// before the servers accept connections. A graceful shutdown stops them
/// in reverse: the agent first (runs hold at their step boundaries, event
/// streams end), then the servers, which finish the responses they are
/// writing. Nothing is cancelled, so a clean stop logs no error.
public struct AgentServices: Sendable {
    private let group: ServiceGroup

    /// Fails when the socket cannot be prepared or the console's TLS files cannot be used.
    public init(agent: Agent, log: Logger) async throws(AgentError) {
        let settings = await agent.settings
        let gate = ServerGate()
        gate.expect()
        // A failure (a port in use) shuts the rest down gracefully too:
        // cancelling a server would log an error of its own beside the cause.
        // The journal first: it is stopped last, once nothing writes to it.
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: JournalService(journal: agent.journal)),
            .init(service: try ControlServer.service(agent: agent, settings: settings, log: log, ready: gate),
                  failureTerminationBehavior: .gracefullyShutdownGroup)
        ]
        if let console = agent.console {
            gate.expect()
            services.append(.init(service: try ConsoleServer.service(agent: agent, console: console, log: log, ready: gate),
                                  failureTerminationBehavior: .gracefullyShutdownGroup))
        }
        services.append(.init(service: AgentService(agent: agent, gate: gate), successTerminationBehavior: .gracefullyShutdownGroup,
                              failureTerminationBehavior: .gracefullyShutdownGroup))
        var groupLog = log
        groupLog.logLevel = .warning
        // Signals are the caller's (SIGHUP reloads; a second SIGTERM exits at once).
        group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [], cancellationSignals: [], logger: groupLog))
    }

    /// Runs until `shutDown` has stopped everything, or a service fails.
    public func run() async throws {
        try await group.run()
    }

    /// Stops the agent, then the servers.
    public func shutDown() async {
        await group.triggerGracefulShutdown()
    }
}

/// The journal as a service: a PostgreSQL journal's connection pool (and
/// its ownership) lives until the group stops, after every service that
/// writes to it.
struct JournalService: Service {
    let journal: any JournalStore

    func run() async throws {
        try? await gracefulShutdown()
        await journal.close()
    }
}

/// The agent as a service: waits for the servers, runs, and stops when the
/// group shuts down.
struct AgentService: Service {
    let agent: Agent
    let gate: ServerGate

    func run() async throws {
        try await gate.wait()
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await agent.run() }
            // Cancelled (another service failed): nothing to stop gracefully.
            guard (try? await gracefulShutdown()) != nil else { return }
            await agent.stop()
        }
    }
}
