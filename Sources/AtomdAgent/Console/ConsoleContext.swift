import Hummingbird

/// The request context of the web console: the session its cookie names,
/// once `ConsoleGuard` has found it.
public struct ConsoleContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    var session: ConsoleSessions.Session?
    var sessionID: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }
}
