import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The web console on `api.listen` (loopback only; see ConsoleAddress).
enum ConsoleServer {
    static func service(agent: Agent, console: Console, log: Logger, ready: ServerGate) -> any Service {
        let address = console.endpoint.address
        let app = Application(
            router: ConsoleRoutes.router(agent: agent, console: console),
            server: .http1(configuration: ControlServer.http1),
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: nil),
            onServerRunning: { channel in
                console.endpoint.bind(port: channel.localAddress?.port ?? address.port)
                ready.open()
            },
            logger: ControlServer.serverLog(log))
        return APIServer(app: app, name: "the console on \(address)", ready: ready, cleanUp: {})
    }
}
