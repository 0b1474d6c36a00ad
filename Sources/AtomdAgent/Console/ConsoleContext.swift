import Hummingbird

/// The request context of the web console: the session its Authorization header names,
/// once `ConsoleGuard` has found it.
public struct ConsoleContext: CallerContext {
    public var coreContext: CoreRequestContextStorage
    var session: ConsoleSessions.Session?
    var sessionID: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    /// Whoever asked for the session's login link on the socket.
    func caller() async -> PeerCredentials? { session?.peer }
}
