import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// One of the agent's HTTP servers as a service: a failure to serve says
/// which server it was, and `cleanUp` runs however the server ends (the
/// socket file goes).
struct APIServer<App: Service>: Service {
    let app: App
    let name: String
    let ready: ServerGate
    let cleanUp: @Sendable () -> Void

    func run() async throws {
        defer { cleanUp() }
        do {
            try await app.run()
        } catch {
            let failure = AgentError("cannot serve \(name): \(error)")
            ready.fail(failure)
            throw failure
        }
    }
}

/// Opens when every server accepts connections: the agent claims no job
/// and reports READY before then, and fails to start if one cannot.
final class ServerGate: Sendable {
    private let events: AsyncStream<Result<Void, AgentError>>
    private let continuation: AsyncStream<Result<Void, AgentError>>.Continuation
    private let expected = Atomic<Int>(0)

    init() {
        (events, continuation) = AsyncStream.makeStream(of: Result<Void, AgentError>.self)
    }

    /// One more server to wait for.
    func expect() {
        expected.add(1, ordering: .relaxed)
    }

    func open() { continuation.yield(.success(())) }

    func fail(_ error: AgentError) { continuation.yield(.failure(error)) }

    /// Returns when every expected server is ready; throws the first failure.
    func wait() async throws(AgentError) {
        var opened = 0
        for await event in events {
            if case .failure(let error) = event { throw error }
            opened += 1
            if opened == expected.load(ordering: .relaxed) { return }
        }
        throw AgentError("stopped before the API servers were ready")
    }
}
