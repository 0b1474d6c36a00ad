import Foundation
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Caps on one server's connections: in all, per peer (a Unix socket's
/// uid, a loopback TCP client's uid, another TCP client's address), and
/// none at all while fewer than
/// `DescriptorBudget.reserve` descriptors are free. Two processes of one
/// user once held 1,400 half-sent connections and took every descriptor
/// the agent had (issue 31); now they get `perPeer`, and the rest of the
/// agent keeps working.
final class ConnectionLimiter: Sendable {
    enum Peer: Sendable { case uid, address }

    let name: String
    let total: Int
    let perPeer: Int
    let peer: Peer
    let log: Logger
    /// Peers held to the total only: root and the agent's user own the
    /// agent, and their tools (the CLI, the tests' clients) are trusted.
    let unlimited: Set<String>
    /// Free descriptors now (DescriptorBudget.free; a test's own count).
    let freeDescriptors: @Sendable () -> Int
    private let state = Mutex(State())

    private struct State {
        var open: [String: Int] = [:]
        var count = 0
        var refused = 0
        var lastReport: ContinuousClock.Instant?
    }

    init(name: String, total: Int, perPeer: Int, peer: Peer, log: Logger,
         freeDescriptors: @escaping @Sendable () -> Int = DescriptorBudget.free) {
        self.freeDescriptors = freeDescriptors
        // A loopback TCP peer is counted by its uid too (LoopbackOwner).
        unlimited = ["uid 0", "uid \(getuid())"]
        self.name = name
        self.total = total
        self.perPeer = perPeer
        self.peer = peer
        self.log = log
    }

    /// Counts the connection in, or says why it is refused.
    func admit(_ key: String) -> String? {
        let reserveShort = freeDescriptors() < DescriptorBudget.reserve
        let (refusal, report) = state.withLock { state -> (String?, Bool) in
            let refusal: String? = if reserveShort {
                "fewer than \(DescriptorBudget.reserve) file descriptors are free (kept for steps and reverts)"
            } else if state.count >= total {
                "\(total) connections are open"
            } else if state.open[key, default: 0] >= perPeer, !unlimited.contains(key) {
                "\(key) has \(perPeer) connections open"
            } else {
                nil
            }
            guard refusal != nil else {
                state.open[key, default: 0] += 1
                state.count += 1
                return (nil, false)
            }
            state.refused += 1
            // One line per 10 s at most: a flood must not flood the log too.
            let now = ContinuousClock.now
            guard state.lastReport.map({ now - $0 >= .seconds(10) }) ?? true else { return (refusal, false) }
            state.lastReport = now
            return (refusal, true)
        }
        if let refusal, report {
            log.warning("\(name): refusing connections: \(refusal) (\(refusedCount) refused so far)")
        }
        return refusal
    }

    func release(_ key: String) {
        state.withLock { state in
            guard let open = state.open[key] else { return }
            state.open[key] = open > 1 ? open - 1 : nil
            state.count -= 1
        }
    }

    var openCount: Int { state.withLock { $0.count } }
    var refusedCount: Int { state.withLock { $0.refused } }

    /// Stops accepting at `total`: further clients wait in the listen
    /// backlog (not holding a descriptor of the agent's) instead of being
    /// accepted and closed in a loop.
    var acceptance: MaximumAvailableConnections {
        MaximumAvailableConnections(total, logger: log)
    }
}

/// On each connection: counts it against its server's caps, closing it at
/// once when over. (A request's head that never completes, however slowly
/// it trickles, is closed by the server's idle timeout: Hummingbird's timer
/// counts decoded requests, not bytes; ConnectionFloodTests proves it.)
final class ConnectionGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart

    let limiter: ConnectionLimiter
    private var key: String?
    private var identified = false

    init(limiter: ConnectionLimiter) {
        self.limiter = limiter
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { identify(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        identify(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        settle()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        settle()
    }

    private func identify(_ context: ChannelHandlerContext) {
        guard !identified else { return }
        identified = true
        let channel = context.channel
        switch limiter.peer {
        case .address:
            admit(LoopbackOwner.key(for: channel.remoteAddress), channel: channel)
        case .uid:
            guard let provider = channel as? any SocketOptionProvider else {
                admit("an unknown peer", channel: channel)
                return
            }
            let future: EventLoopFuture<PeerCredentials.Raw> = provider.unsafeGetSocketOption(
                level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
            // On the channel's event loop, as is every other call on this handler.
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            future.hop(to: context.eventLoop).whenComplete { result in
                let key = (try? result.get()).map { "uid \($0.uid)" } ?? "an unknown peer"
                handler.value.admit(key, channel: channel)
            }
        }
    }

    private func admit(_ key: String, channel: any Channel) {
        guard channel.isActive else { return }
        if limiter.admit(key) != nil {
            channel.close(promise: nil)
        } else {
            self.key = key
        }
    }

    private func settle() {
        if let key {
            limiter.release(key)
            self.key = nil
        }
    }
}
