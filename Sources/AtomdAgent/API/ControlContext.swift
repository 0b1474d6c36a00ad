import Foundation
import Hummingbird
import NIOCore

/// A request context that knows who is asking: the routes that steer a run
/// check it against the run's submitter.
protocol CallerContext: RequestContext {
    /// Nil when the caller cannot be told.
    func caller() async -> PeerCredentials?
}

/// The request context of the control API: the connection, so that the
/// caller's credentials can be asked of the kernel (SO_PEERCRED).
public struct ControlContext: CallerContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// Who is at the other end of the Unix socket, as the kernel saw it at
    /// connect time; nil if the connection cannot tell (not a Unix socket).
    func peer() async -> PeerCredentials? {
        guard let provider = channel as? any SocketOptionProvider else { return nil }
        let future: EventLoopFuture<PeerCredentials.Raw> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
        guard let raw = try? await future.get() else { return nil }
        return PeerCredentials(uid: raw.uid, gid: raw.gid, pid: raw.pid)
    }

    func caller() async -> PeerCredentials? { await peer() }
}

/// A caller's identity from SO_PEERCRED.
struct PeerCredentials: Sendable, Hashable {
    /// `struct ucred` (pid, uid, gid), which Swift's Glibc does not import.
    struct Raw: Sendable {
        var pid: Int32 = 0
        var uid: UInt32 = 0
        var gid: UInt32 = 0
    }

    var uid: uid_t
    var gid: gid_t
    var pid: pid_t
}
