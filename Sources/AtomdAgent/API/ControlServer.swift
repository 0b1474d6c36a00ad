import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import ServiceLifecycle

/// The control API on its Unix socket: mode 0660 (0666 with
/// `api.public_read`), group `api.group`; who may do what is checked per
/// request with SO_PEERCRED, not left to the mode alone.
enum ControlServer {
    /// The server, as a service of the agent's group; `ready` hears when
    /// the socket accepts connections with its mode set.
    static func service(agent: Agent, settings: AgentSettings, log: Logger, ready: ServerGate) throws(AgentError) -> any Service {
        let path = settings.socket
        try prepare(path)
        let mode: mode_t = settings.publicRead ? 0o666 : 0o660
        let group = settings.group
        let connections = ConnectionLimiter(name: "the control API", total: 256, perPeer: 32, peer: .uid, log: log)
        let app = Application(
            router: ControlRoutes.router(agent: agent),
            server: .http1(configuration: http1(connections)),
            configuration: .init(address: .unixDomainSocket(path: path), serverName: nil,
                                 availableConnectionsDelegate: connections.acceptance),
            onServerRunning: { _ in
                if let group { chown(path, uid_t.max, group) }
                if chmod(path, mode) == 0 {
                    ready.open()
                } else {
                    ready.fail(AgentError("cannot set the mode of \(path): \(SystemError.current)"))
                }
            },
            logger: serverLog(log))
        return APIServer(app: app, name: "the control API on \(path)", ready: ready, cleanUp: { unlink(path) })
    }

    /// Hummingbird's own lines only from warnings up: a request is not news.
    static func serverLog(_ log: Logger) -> Logger {
        var serverLog = log
        serverLog.logLevel = .warning
        return serverLog
    }

    /// A connection that sends nothing for this long, a request's headers
    /// included, is closed: half-sent requests cannot pile up and fill the
    /// server. A response being written (an event stream) is not cut.
    static let idleTimeout = Duration.seconds(10)

    /// `connections`: the caps of the server (ConnectionLimiter); each
    /// connection gets its own ConnectionGuard.
    static func http1(_ connections: ConnectionLimiter) -> HTTP1Channel.Configuration {
        var configuration = HTTP1Channel.Configuration(additionalChannelHandlers: [ConnectionGuard(limiter: connections)],
                                                       idleTimeout: .seconds(Int64(idleTimeout.components.seconds)))
        configuration.httpDecoder = .init(maxHeaderFieldSize: 16 << 10, maxHeaderListSize: 64 << 10, maxHeaderFieldCount: 100)
        return configuration
    }

    /// A socket left by an agent that died is removed; a live one means
    /// another agent runs on this home, and anything else is not ours to touch.
    static func prepare(_ path: String) throws(AgentError) {
        guard UnixSocketAddress(path: path) != nil else {
            throw AgentError("the socket path \(path) is too long for a Unix socket (107 bytes at most)", hint: "set api.socket to a shorter path")
        }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            let parent = (path as NSString).deletingLastPathComponent
            try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            return
        }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw AgentError("\(path) exists and is not a socket", hint: "move it away or set api.socket elsewhere")
        }
        if isListening(path) {
            throw AgentError("another agent is serving \(path)", hint: "stop it first, or give this one another --home")
        }
        unlink(path)
    }

    static func isListening(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard let address = UnixSocketAddress(path: path) else { return false }
        return address.withSockaddr { connect(fd, $0, $1) } == 0
    }
}
