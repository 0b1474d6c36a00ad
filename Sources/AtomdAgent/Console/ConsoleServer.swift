import AtomdSpec
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import ServiceLifecycle

/// The web console on `api.listen`: plain HTTP on loopback, HTTPS with `api.tls`.
enum ConsoleServer {
    static func service(agent: Agent, console: Console, log: Logger, ready: ServerGate) throws(AgentError) -> any Service {
        let address = console.endpoint.address
        let connections = Self.connections(log: log)
        var server = HTTPServerBuilder.http1(configuration: ControlServer.http1(connections))
        if let tls = console.endpoint.tls {
            do {
                server = try .tls(server, tlsConfiguration: try configuration(tls))
            } catch let error as AgentError {
                throw error
            } catch {
                throw AgentError("api.tls: \(error)", hint: "check that the files are a PEM certificate chain and its private key")
            }
        }
        let app = Application(
            router: ConsoleRoutes.router(agent: agent, console: console),
            server: server,
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: nil,
                                 availableConnectionsDelegate: connections.acceptance),
            onServerRunning: { channel in
                console.endpoint.bind(port: channel.localAddress?.port ?? address.port)
                ready.open()
            },
            logger: ControlServer.serverLog(log))
        return APIServer(app: app, name: "the console on \(address)", ready: ready, cleanUp: {})
    }

    /// The certificate chain and key, read once at start. The key must be
    /// readable by its owner alone, as ssh insists of its own keys.
    static func configuration(_ tls: ConsoleTLS) throws -> TLSConfiguration {
        var info = stat()
        guard stat(tls.key, &info) == 0 else {
            throw AgentError("api.tls.key: cannot read \(tls.key): \(SystemError.current)")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw AgentError("api.tls.key: \(tls.key) may be read by other users (mode \(String(info.st_mode & 0o777, radix: 8)))",
                             hint: "chmod 600 \(tls.key)")
        }
        let chain = try NIOSSLCertificate.fromPEMFile(tls.certificate)
        guard !chain.isEmpty else { throw AgentError("api.tls.cert: \(tls.certificate) holds no certificate") }
        let key = try NIOSSLPrivateKey(file: tls.key, format: .pem)
        return TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
    }
}
